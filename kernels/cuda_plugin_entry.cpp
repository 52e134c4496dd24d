// The CUDA backend's table for the engine (engine/src/cuda_plugin.h): the plugin's only export.
#include "cuda_backend.h"
#include "cuda_plugin.h"

extern "C" __attribute__((visibility("default"))) const phidesk::CudaPlugin* phidesk_cuda_plugin() {
    static const phidesk::CudaPlugin plugin{phidesk::kCudaPluginAbi, phidesk::kCudaPluginBuild, &phidesk::cuda::devices,
                                            &phidesk::cuda::make_backend, &phidesk::cuda::copy_bandwidth,
                                            &phidesk::cuda::load_model};
    return &plugin;
}
