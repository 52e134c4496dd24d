// Loading a .phz model into memory other than the host's (a GPU's), chunk by chunk as the chunks
// decompress, so that the model is never whole in host memory. The destination keeps float
// matrices as F16 (what cuBLAS reads), vectors as F32 and Q8/Q4 matrices as stored.
#pragma once
#include <cstdint>
#include <filesystem>
#include <memory>

#include "phidesk/model.h"

namespace phidesk {

// Where the chunks go. The loader calls allocate() once, then put() from its decompression
// threads (each with its own `thread` index), then finish().
class ChunkDestination {
public:
    virtual ~ChunkDestination() = default;
    // The device whose memory this is (Model::weights_device()).
    virtual int device() const = 0;
    // Memory for `bytes` of weights for up to `threads` threads putting chunks of at most
    // `chunk_bytes`; returns its base address (the model's tensors point into it), whose
    // shared_ptr keeps it alive.
    virtual std::shared_ptr<const void> allocate(uint64_t bytes, int threads, size_t chunk_bytes) = 0;
    // `bytes` at `src` belong at `offset` from the base. `src` stays valid only until this
    // thread's next call: copy it (the copy may complete later, overlapping the next chunk).
    virtual void put(int thread, const uint8_t* src, size_t bytes, uint64_t offset) = 0;
    // Returns when every put() has landed.
    virtual void finish() = 0;
};

// Loads `path` (a .phz file) into `dest`; the model's tensors point into the destination's
// memory, with the dtypes it keeps. `threads` 0: one per CPU.
std::shared_ptr<const Model> load_phz_model_into(const std::filesystem::path& path, ChunkDestination& dest, int threads = 0,
                                                 const Model::LoadProgress& progress = {});

// The dtype a destination keeps a tensor of dtype `stored` and `dims` dimensions in.
DType kept_dtype(DType stored, size_t dims);

}  // namespace phidesk
