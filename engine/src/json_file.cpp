#include "json_file.h"

#include <fstream>
#include <sstream>

#include "phidesk/error.h"

namespace phidesk {

nlohmann::json parse_json_text(std::string_view text, const std::string& source) {
    try {
        return nlohmann::json::parse(text.begin(), text.end());
    } catch (const nlohmann::json::exception& e) {   // parse_error, and out_of_range for huge numbers
        throw Error(source + ": invalid JSON (" + e.what() + ")");
    }
}

nlohmann::json read_json_file(const std::filesystem::path& path, std::string_view what) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(path.string() + ": cannot open " + std::string(what));
    std::ostringstream ss;
    ss << in.rdbuf();
    return parse_json_text(ss.str(), path.string());
}

}  // namespace phidesk
