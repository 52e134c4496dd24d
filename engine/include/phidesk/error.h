// Errors of the engine layer: one exception type whose message names the file, tensor,
// field or limit concerned. Callers show what() to the user as it is.
#pragma once
#include <stdexcept>
#include <string>

namespace phidesk {

class Error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// The request does not fit the context window (prompt too long, cache full).
class ContextFullError : public Error {
public:
    using Error::Error;
};

}  // namespace phidesk
