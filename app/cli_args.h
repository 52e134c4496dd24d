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
    double get_double(const std::string& name, double fallback) const;
    // Every value of an option that may be given several times (e.g. --stop).
    std::vector<std::string> get_all(const std::string& name) const;
    // Throws naming any option given that none of the calls above asked for.
    void reject_unknown() const;

private:
    std::map<std::string, std::string> values_;          // the last value of each option
    std::multimap<std::string, std::string> all_;         // every value, in order
    mutable std::set<std::string> used_;
};

std::vector<int32_t> parse_id_list(const std::string& text);   // "1,2,3" or "[1, 2, 3]"

}  // namespace phidesk::cli
