// swift-tools-version:5.9
import PackageDescription

/// A system library found through pkg-config; `apt` names the Debian package that provides it,
/// so a build on a machine without it says what to install.
func systemLibrary(_ name: String, pkgConfig: String, apt: String) -> Target {
    .systemLibrary(name: name, path: "Sources/\(name)", pkgConfig: pkgConfig, providers: [.apt([apt])])
}

// The dependencies below are the architecture (ARCHITECTURE.md): each module imports only what it
// lists, so the compiler keeps Autodiff free of audio, Audio free of networks, and so on.
let package = Package(
    name: "cnnsep",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "cnnsep", targets: ["cnnsep"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        systemLibrary("CBLAS", pkgConfig: "openblas", apt: "libopenblas-dev"),
        systemLibrary("CFFTW", pkgConfig: "fftw3f", apt: "libfftw3-dev"),
        systemLibrary("CSndFile", pkgConfig: "sndfile", apt: "libsndfile1-dev"),
        systemLibrary("CHDF5", pkgConfig: "hdf5", apt: "libhdf5-dev"),
        systemLibrary("CSoxr", pkgConfig: "soxr", apt: "libsoxr-dev"),
        systemLibrary("CCairo", pkgConfig: "cairo", apt: "libcairo2-dev"),
        systemLibrary("CMPI", pkgConfig: "ompi-c", apt: "libopenmpi-dev"),
        systemLibrary("CFluidSynth", pkgConfig: "fluidsynth", apt: "libfluidsynth-dev"),

        // Errors, atomic file writes, progress, interrupts, the seeded generator, the stem list.
        .target(name: "Support"),
        // Tensors, reverse-mode autodiff and the BLAS kernels of its layers; knows nothing about audio.
        .target(name: "Autodiff", dependencies: ["CBLAS"]),
        // A small safe wrapper over the HDF5 C library.
        .target(name: "HDF5", dependencies: ["Support", "CHDF5"]),
        // Audio files, resampling, STFT, metrics; knows nothing about networks.
        .target(name: "Audio", dependencies: ["Support", "CBLAS", "CFFTW", "CSndFile", "CSoxr"]),
        // Layers, the Chandna network, its loss, Adadelta, the preallocated engine, checkpoint files.
        .target(name: "Network", dependencies: ["Support", "Autodiff", "HDF5", "CBLAS"]),
        // Datasets, the feature cache, blocks and batches of training windows, the demo synthesizer.
        .target(name: "Data", dependencies: ["Support", "Audio", "CFluidSynth"]),
        // The run's settings (Configs/*.json), validated; ties the modules' settings together.
        .target(name: "Configuration", dependencies: ["Support", "Audio", "Network", "Data"]),
        // The training loop, its step, its data and its log; data-parallel over the ranks of a job.
        .target(name: "Training", dependencies: ["Support", "Autodiff", "HDF5", "Audio", "Network", "Data", "Configuration", "Distributed"]),
        // Separating songs with a trained model.
        .target(name: "Inference", dependencies: ["Support", "Autodiff", "Audio", "Network", "Configuration"]),
        // Scoring separations of a dataset split (model, ideal masks, mixture).
        .target(name: "Evaluation", dependencies: ["Support", "Audio", "Data", "Configuration", "Inference"]),
        // Figures (spectrograms, masks, curves) drawn with cairo.
        .target(name: "Plot", dependencies: ["Support", "Audio", "CCairo"], exclude: ["make_colormaps.py"]),
        // Ranks of an MPI job (mpirun/srun) and their collectives; a single process never calls MPI.
        .target(name: "Distributed", dependencies: ["Support", "CMPI"]),
        .executableTarget(name: "cnnsep", dependencies: [
            "Support", "Autodiff", "HDF5", "Audio", "Network", "Data", "Configuration", "Training", "Inference",
            "Evaluation", "Plot", "Distributed",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        // Fixtures shared by the test targets (reduced configs and networks, folders, signals).
        .target(name: "TestHelpers", dependencies: ["Support", "Audio", "Data", "Network", "Configuration", "Inference"], path: "Tests/TestHelpers"),
        .testTarget(name: "SupportTests", dependencies: ["Support", "TestHelpers"]),
        .testTarget(name: "AutodiffTests", dependencies: ["Autodiff"]),
        .testTarget(name: "AudioTests", dependencies: ["Audio", "Support"], resources: [.copy("Fixtures")]),
        .testTarget(name: "NetworkTests", dependencies: ["TestHelpers", "Network", "Configuration", "Autodiff", "HDF5", "Support"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "ConfigurationTests", dependencies: ["Configuration", "Data"]),
        .testTarget(name: "DataTests", dependencies: ["TestHelpers", "Data", "Audio", "Support"]),
        .testTarget(name: "TrainingTests", dependencies: ["TestHelpers", "Training", "Inference", "Configuration", "Network", "Data", "Autodiff", "Support", "Distributed"]),
        .testTarget(name: "InferenceTests", dependencies: ["TestHelpers", "Inference", "Configuration", "Network", "Audio", "Autodiff", "Support"]),
        .testTarget(name: "EvaluationTests", dependencies: ["TestHelpers", "Evaluation", "Inference", "Configuration", "Network", "Data", "Audio", "Support"]),
        .testTarget(name: "PlotTests", dependencies: ["Plot", "Support", "Audio", "TestHelpers"]),
        .testTarget(name: "DistributedTests", dependencies: ["Distributed", "CMPI", "Network", "TestHelpers", "Audio", "Configuration", "Data", "Support"]),
    ]
)
