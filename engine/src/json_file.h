#pragma once
#include <filesystem>
#include <string_view>

#include <nlohmann/json.hpp>

namespace phidesk {

// Parses a whole JSON file; errors name the file, what it is, and the parser's position.
nlohmann::json read_json_file(const std::filesystem::path& path, std::string_view what);
nlohmann::json parse_json_text(std::string_view text, const std::string& source);

}  // namespace phidesk
