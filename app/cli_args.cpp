#include "cli_args.h"

#include <cstdint>
#include <stdexcept>

#include "phidesk/error.h"

namespace phidesk::cli {

Args::Args(int argc, char** argv, int first, std::set<std::string> flags) {
    for (int i = first; i < argc; ++i) {
        std::string a = argv[i];
        if (a.rfind("--", 0) != 0 || a.size() < 3) throw Error("unexpected argument '" + a + "'");
        a = a.substr(2);
        std::string name = a, value = "1";
        if (const size_t eq = a.find('='); eq != std::string::npos) {
            name = a.substr(0, eq), value = a.substr(eq + 1);
        } else if (!flags.count(a)) {
            if (i + 1 >= argc) throw Error("option --" + a + " needs a value");
            value = argv[++i];
        }
        values_[name] = value;
        all_.emplace(name, value);
    }
}

bool Args::has(const std::string& name) const {
    used_.insert(name);
    return values_.count(name) > 0;
}

std::string Args::get(const std::string& name) const {
    if (!has(name)) throw Error("missing option --" + name);
    return values_.at(name);
}

std::string Args::get(const std::string& name, const std::string& fallback) const {
    return has(name) ? values_.at(name) : fallback;
}

// The whole value as a number (std::stoi / std::stod), or an error naming the option.
template <class T, class Parse>
T parse_option(const std::string& name, const std::string& v, Parse parse, const char* kind) {
    size_t end = 0;
    T x{};
    try {
        x = parse(v, &end);
    } catch (const std::exception&) {
        end = std::string::npos;
    }
    if (end != v.size()) throw Error("option --" + name + " needs " + kind + ", not '" + v + "'");
    return x;
}

int Args::get_int(const std::string& name, int fallback) const {
    if (!has(name)) return fallback;
    return parse_option<int>(name, values_.at(name), [](const std::string& v, size_t* e) { return std::stoi(v, e); },
                             "a whole number");
}

double Args::get_double(const std::string& name, double fallback) const {
    if (!has(name)) return fallback;
    return parse_option<double>(name, values_.at(name), [](const std::string& v, size_t* e) { return std::stod(v, e); },
                                "a number");
}

std::vector<std::string> Args::get_all(const std::string& name) const {
    used_.insert(name);
    std::vector<std::string> out;
    for (auto [it, end] = all_.equal_range(name); it != end; ++it) out.push_back(it->second);
    return out;
}

void Args::reject_unknown() const {
    for (const auto& [name, value] : values_)
        if (!used_.count(name)) throw Error("unknown option --" + name);
}

std::vector<int32_t> parse_id_list(const std::string& text) {
    std::vector<int32_t> ids;
    std::string cur;
    auto flush = [&] {
        if (cur.empty()) return;
        size_t end = 0;
        long long v = 0;
        try {
            v = std::stoll(cur, &end);
        } catch (const std::exception&) {
            end = std::string::npos;
        }
        if (end != cur.size() || v < 0 || v > INT32_MAX) throw Error("'" + cur + "' is not a token id");
        ids.push_back(int32_t(v));
        cur.clear();
    };
    for (char ch : text) {
        if (ch == ',' || ch == ' ' || ch == '\n' || ch == '\t' || ch == '\r' || ch == '[' || ch == ']')
            flush();
        else
            cur += ch;
    }
    flush();
    return ids;
}

}  // namespace phidesk::cli
