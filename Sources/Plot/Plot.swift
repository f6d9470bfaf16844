// Plot module
