// libFuzzer target: any bytes given to the .phz reader end in a model or an Error, never a
// crash, a hang or undefined behaviour (built with ASan + UBSan by scripts/fuzz.sh).
#include <cstdint>
#include <string>
#include <sys/mman.h>
#include <unistd.h>

#include "phidesk/error.h"
#include "phz_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const int fd = memfd_create("fuzz.phz", 0);
    if (fd < 0) return 0;
    if (write(fd, data, size) == ssize_t(size)) {
        const std::string path = "/proc/self/fd/" + std::to_string(fd);
        try {
            phidesk::load_phz_model(path, 1);
        } catch (const phidesk::Error&) {
        }
    }
    close(fd);
    return 0;
}
