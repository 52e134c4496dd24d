// Loading a .phz model straight into GPU memory: each decompression thread copies its chunk
// into one of two pinned buffers and queues the copy to the device on its own stream, then goes
// on decompressing the next chunk while the copy runs; it waits only when it comes back to a
// buffer whose copy is still in flight. The host never holds more than these buffers.
#include "cuda_backend.h"

#include <cuda_runtime.h>

#include <algorithm>
#include <cstring>
#include <thread>
#include <vector>

#include "cuda_check.cuh"
#include "phidesk/error.h"
#include "weight_stream.h"

namespace phidesk::cuda {
namespace {

class GpuDestination final : public ChunkDestination {
public:
    explicit GpuDestination(int device) : device_(device) {}
    // Copies still in flight read the pinned buffers and write the device memory: wait for them
    // before either is freed (memory_ goes after this body, with the members).
    ~GpuDestination() override {
        cudaSetDevice(device_);   // its streams live there, whichever device this thread made current since
        for (Lane& l : lanes_) {
            if (l.stream) cudaStreamSynchronize(l.stream), cudaStreamDestroy(l.stream);
            for (int b = 0; b < 2; ++b) {
                if (l.copied[b]) cudaEventDestroy(l.copied[b]);
                if (l.pinned[b]) cudaFreeHost(l.pinned[b]);
            }
        }
    }
    int device() const override { return device_; }

    std::shared_ptr<const void> allocate(uint64_t bytes, int threads, size_t chunk_bytes) override {
        check(cudaSetDevice(device_), "cudaSetDevice");
        void* p = nullptr;
        check(cudaMalloc(&p, std::max<uint64_t>(bytes, 1)), "the model's weights");
        const int device = device_;
        memory_ = std::shared_ptr<const void>(p, [device](const void* q) {
            cudaSetDevice(device);
            cudaFree(const_cast<void*>(q));
        });
        base_ = static_cast<uint8_t*>(p);
        lanes_.resize(size_t(threads));
        for (Lane& l : lanes_) {
            check(cudaStreamCreateWithFlags(&l.stream, cudaStreamNonBlocking), "cudaStreamCreate");
            for (int b = 0; b < 2; ++b) {
                if (cudaMallocHost(reinterpret_cast<void**>(&l.pinned[b]), chunk_bytes) != cudaSuccess)
                    throw Error("not enough host memory for the " + std::to_string(chunk_bytes >> 20) +
                                " MB pinned buffers that stream the model to the GPU");
                // Blocking: a thread waiting for its buffer sleeps instead of spinning on a core
                // the other threads need for decompression.
                check(cudaEventCreateWithFlags(&l.copied[b], cudaEventDisableTiming | cudaEventBlockingSync),
                      "cudaEventCreate");
            }
        }
        capacity_ = chunk_bytes;
        return memory_;
    }

    void put(int thread, const uint8_t* src, size_t bytes, uint64_t offset) override {
        if (bytes > capacity_) throw Error("chunk larger than the staging buffer");
        Lane& l = lanes_.at(size_t(thread));
        check(cudaSetDevice(device_), "cudaSetDevice");   // the current device is per thread
        const int b = l.next;
        l.next ^= 1;
        check(cudaEventSynchronize(l.copied[b]), "upload");   // this buffer's previous copy is done
        std::memcpy(l.pinned[b], src, bytes);
        check(cudaMemcpyAsync(base_ + offset, l.pinned[b], bytes, cudaMemcpyHostToDevice, l.stream), "upload");
        check(cudaEventRecord(l.copied[b], l.stream), "upload");
    }

    void finish() override {
        for (Lane& l : lanes_) check(cudaStreamSynchronize(l.stream), "upload");
    }

private:
    struct Lane {   // one decompression thread's double buffer
        cudaStream_t stream = nullptr;
        uint8_t* pinned[2] = {nullptr, nullptr};
        cudaEvent_t copied[2] = {nullptr, nullptr};
        int next = 0;
    };
    int device_;
    std::shared_ptr<const void> memory_;   // the weights' device memory, shared with the model
    uint8_t* base_ = nullptr;
    size_t capacity_ = 0;
    std::vector<Lane> lanes_;
};

}  // namespace

std::shared_ptr<const Model> load_model(const std::filesystem::path& path, int device, const Model::LoadProgress& progress) {
    require_usable(device);   // before a byte is read
    GpuDestination dest(device);
    // Decompression is what takes the time; 8 threads keep a PCIe link busy, and each holds two
    // pinned chunk buffers.
    const int threads = int(std::clamp(std::thread::hardware_concurrency(), 1u, 8u));
    return load_phz_model_into(path, dest, threads, progress);
}

}  // namespace phidesk::cuda
