// A small command-line reader: `--name value` options and `--flag` switches after the command.
#pragma once
#include <map>
#include <set>
#include <string>
#include <vector>

namespace phidesk::cli {

class Args {
public:
    // argv[first...] are options; `flags` names the options that take no value.
    Args(int argc, char** argv, int first, std::set<std::string> flags);

    bool has(const std::string& name) const;
    std::string get(const std::string& name) const;   // required: throws when missing
    std::string get(const std::string& name, const std::string& fallback) const;
    int get_int(const std::string& name, int fallback) const;
    // Throws naming any option given that none of the calls above asked for.
    void reject_unknown() const;

private:
    std::map<std::string, std::string> values_;
    mutable std::set<std::string> used_;
};

std::vector<int32_t> parse_id_list(const std::string& text);   // "1,2,3" or "[1, 2, 3]"

}  // namespace phidesk::cli
