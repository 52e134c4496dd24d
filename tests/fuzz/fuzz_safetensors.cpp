// libFuzzer target for the safetensors header reader (see fuzz_phz.cpp).
#include <cstdint>
#include <string>
#include <sys/mman.h>
#include <unistd.h>

#include "mapped_file.h"
#include "phidesk/error.h"
#include "safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const int fd = memfd_create("fuzz.safetensors", 0);
    if (fd < 0) return 0;
    if (write(fd, data, size) == ssize_t(size)) {
        try {
            const phidesk::MappedFile file("/proc/self/fd/" + std::to_string(fd));
            phidesk::read_safetensors_header(file);
        } catch (const phidesk::Error&) {
        }
    }
    close(fd);
    return 0;
}
