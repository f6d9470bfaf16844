// Autodiff module
