// Audio module
