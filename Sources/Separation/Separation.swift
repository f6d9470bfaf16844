// Separation module
