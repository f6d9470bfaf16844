// Kept apart from CBLAS: cblas.h pulls in <complex.h>, which would make fftwf_complex opaque here.
#include <fftw3.h>
