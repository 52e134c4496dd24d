// Checkpoint loading: sharded and single files, all dtypes, and every kind of broken input
// gives an Error that names what is wrong (never a crash; CI also runs this under ASan/UBSan).
#include "phidesk/backend.h"
#include "phidesk/error.h"
#include "phidesk/model.h"
#include "safetensors.h"
#include "test_support.h"

using namespace phidesk;
namespace fs = std::filesystem;

namespace {

std::vector<test::RawTensor> read_all(const fs::path& dir) {
    const Checkpoint c = Checkpoint::open(dir);
    std::vector<test::RawTensor> out;
    for (const std::string& name : c.names()) {
        const TensorView& t = c.get(name);
        const uint8_t* p = static_cast<const uint8_t*>(t.data);
        out.push_back({name, dtype_name(t.dtype), t.shape, std::vector<uint8_t>(p, p + t.nbytes())});
    }
    return out;
}

// Each tensor converted to `dtype` (from F32, F16 or BF16), rounding to nearest even.
std::vector<test::RawTensor> converted(std::vector<test::RawTensor> tensors, DType dtype) {
    for (test::RawTensor& t : tensors) {
        std::vector<float> f;
        if (t.dtype == "F32") {
            f.resize(t.bytes.size() / 4);
            std::memcpy(f.data(), t.bytes.data(), t.bytes.size());
        } else {
            const bool bf16 = t.dtype == "BF16";
            for (size_t i = 0; i < t.bytes.size(); i += 2) {
                const uint16_t h = uint16_t(t.bytes[i] | (t.bytes[i + 1] << 8));
                f.push_back(bf16 ? bf16_to_f32(h) : f16_to_f32(h));
            }
        }
        if (dtype == DType::F32) {
            t.bytes = test::bytes_of(f);
        } else {
            std::vector<uint16_t> h;
            for (float x : f) h.push_back(dtype == DType::BF16 ? f32_to_bf16(x) : f32_to_f16(x));
            t.bytes = test::bytes_of(h);
        }
        t.dtype = dtype_name(dtype);
    }
    return tensors;
}

std::vector<float> all_logits(const fs::path& model_path, const std::vector<int32_t>& tokens) {
    auto backend = make_backend(Model::load(model_path), {});
    std::vector<float> logits;
    backend->eval(tokens, LogitsFor::All, logits);
    return logits;
}

template <class Fn>
void expect_error(Fn&& fn, const std::vector<std::string>& needles) {
    try {
        fn();
    } catch (const Error& e) {
        for (const std::string& n : needles)
            QVERIFY2(std::string(e.what()).find(n) != std::string::npos,
                     qPrintable(QString("'%1' does not mention '%2'").arg(e.what(), QString::fromStdString(n))));
        return;
    }
    QFAIL("no error");
}

}  // namespace

class TestCheckpoint : public QObject {
    Q_OBJECT
    QTemporaryDir tmp_;
    fs::path dir(const std::string& name) {
        const fs::path d = fs::path(tmp_.path().toStdString()) / name;
        fs::create_directories(d);
        return d;
    }
    // A folder with micro-phi's config and the given tensors.
    fs::path micro_variant(const std::string& name, const std::vector<test::RawTensor>& tensors) {
        const fs::path d = dir(name);
        test::copy_file(test::model_dir("micro-phi") / "config.json", d / "config.json");
        test::write_safetensors(d / "model.safetensors", tensors);
        return d;
    }
    const std::vector<int32_t> tokens_ = {0, 17, 255, 3, 511, 42, 7};

private slots:
    void reads_header_as_written() {
        const fs::path d = dir("small");
        const std::vector<float> v = {1.5f, -2.0f, 3.25f};
        test::write_safetensors(d / "model.safetensors", {{"a", "F32", {3}, test::bytes_of(v)},
                                                         {"b", "BF16", {1, 2}, test::bytes_of(std::vector<uint16_t>{0x3f80, 0xc000})}});
        const Checkpoint c = Checkpoint::open(d);
        const TensorView& a = c.get("a");
        QCOMPARE(a.shape, (std::vector<int64_t>{3}));
        QCOMPARE(static_cast<const float*>(a.data)[2], 3.25f);
        const TensorView& b = c.get("b");
        QCOMPARE(b.dtype, DType::BF16);
        QCOMPARE(bf16_to_f32(static_cast<const uint16_t*>(b.data)[1]), -2.0f);
    }

    void sharded_equals_single() {
        std::vector<test::RawTensor> all = read_all(test::model_dir("micro-phi"));
        const fs::path d = dir("sharded");
        test::copy_file(test::model_dir("micro-phi") / "config.json", d / "config.json");
        const size_t half = all.size() / 2;
        nlohmann::json index = {{"metadata", {{"total_size", 0}}}, {"weight_map", nlohmann::json::object()}};
        std::vector<test::RawTensor> a(all.begin(), all.begin() + long(half)), b(all.begin() + long(half), all.end());
        for (const auto& t : a) index["weight_map"][t.name] = "model-00001-of-00002.safetensors";
        for (const auto& t : b) index["weight_map"][t.name] = "model-00002-of-00002.safetensors";
        test::write_safetensors(d / "model-00001-of-00002.safetensors", a);
        test::write_safetensors(d / "model-00002-of-00002.safetensors", b);
        std::ofstream(d / "model.safetensors.index.json") << index.dump();
        QCOMPARE(all_logits(d, tokens_), all_logits(test::model_dir("micro-phi"), tokens_));

        // The same folder with a shard gone names the shard.
        fs::remove(d / "model-00002-of-00002.safetensors");
        expect_error([&] { Model::load(d); }, {"model-00002-of-00002.safetensors", "missing"});
    }

    // F16 and BF16 weights give exactly the logits of the same values stored as F32: the
    // conversion paths change nothing but the storage.
    void half_precision_matches_f32_of_same_values() {
        const auto f32 = converted(read_all(test::model_dir("micro-phi")), DType::F32);
        for (DType half : {DType::F16, DType::BF16}) {
            const auto h = converted(f32, half);
            const fs::path a = micro_variant(std::string("h_") + dtype_name(half), h);
            const fs::path b = micro_variant(std::string("f_") + dtype_name(half), converted(h, DType::F32));
            QCOMPARE(Model::load(a)->weights().layers[0].fc1_w.dtype, half);
            QCOMPARE(all_logits(a, tokens_), all_logits(b, tokens_));
        }
    }

    void missing_tensor_is_named() {
        auto t = read_all(test::model_dir("micro-phi"));
        std::erase_if(t, [](const test::RawTensor& x) { return x.name == "model.layers.1.mlp.fc2.bias"; });
        const fs::path d = micro_variant("missing", t);
        expect_error([&] { Model::load(d); }, {"missing tensor model.layers.1.mlp.fc2.bias"});
    }

    void shape_mismatch_with_config_is_named() {
        const fs::path d = micro_variant("shape", read_all(test::model_dir("micro-phi")));
        auto cfg = nlohmann::json::parse(std::ifstream(d / "config.json"));
        cfg["intermediate_size"] = 128;
        std::ofstream(d / "config.json") << cfg.dump();
        expect_error([&] { Model::load(d); }, {"model.layers.0.mlp.fc1.weight", "[256, 64]", "[128, 64]"});
    }

    void invalid_config_json() {
        const fs::path d = micro_variant("badcfg", read_all(test::model_dir("micro-phi")));
        std::ofstream(d / "config.json") << "{ not json";
        expect_error([&] { Model::load(d); }, {"config.json", "invalid JSON"});
        fs::remove(d / "config.json");
        expect_error([&] { Model::load(d); }, {"config.json"});
    }

    void truncated_file() {
        const fs::path src = test::model_dir("micro-phi") / "model.safetensors";
        const fs::path d = micro_variant("truncated", {});
        for (uintmax_t keep : {uintmax_t(5), uintmax_t(100), fs::file_size(src) / 2, fs::file_size(src) - 1}) {
            test::copy_file(src, d / "model.safetensors");
            fs::resize_file(d / "model.safetensors", keep);
            expect_error([&] { Model::load(d); }, {"model.safetensors"});
        }
    }

    void malformed_headers() {
        const fs::path d = dir("headers");
        const fs::path f = d / "model.safetensors";
        auto entry = [](const char* dtype, const char* shape, const char* offsets) {
            return std::string("{\"t\":{\"dtype\":\"") + dtype + "\",\"shape\":" + shape + ",\"data_offsets\":" + offsets + "}}";
        };
        struct Case {
            std::string header;
            size_t data;
            std::vector<std::string> needles;
            uint64_t declared = UINT64_MAX;
        };
        const std::vector<Case> cases = {
            {entry("F32", "[4]", "[0,16]"), 16, {"runs past the end"}, 1u << 20},
            {entry("F32", "[4]", "[0,16]"), 16, {"exceeds"}, uint64_t(1) << 40},
            {entry("F32", "[4]", "[0,16]"), 8, {"tensor t", "outside"}},
            {entry("F32", "[4]", "[16,0]"), 16, {"tensor t", "outside"}},
            {entry("F32", "[4]", "[0,12]"), 16, {"tensor t", "do not hold"}},
            {entry("F32", "[-4]", "[0,16]"), 16, {"tensor t", "non-negative"}},
            {entry("F32", "[4]", "[-8,8]"), 16, {"tensor t", "non-negative"}},
            {entry("F32", "[4]", "[0]"), 16, {"tensor t", "data_offsets"}},
            {entry("Q7", "[4]", "[0,16]"), 16, {"tensor t", "unknown dtype 'Q7'"}},
            {entry("F64", "[2]", "[0,16]"), 16, {"tensor t", "F64", "not supported"}},
            {entry("F32", "[4]", "[2,18]"), 18, {"tensor t", "aligned"}},
            {entry("F32", "[1099511627776,1099511627776]", "[0,16]"), 16, {"tensor t", "too large"}},
            {R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"b":{"dtype":"F32","shape":[4],"data_offsets":[8,24]}})",
             24, {"overlap"}},
            {R"({"t":{"dtype":"F32","shape":[4],)", 16, {"invalid JSON"}},
            {R"({"t":{"dtype":"F32","shape":[2e4704],"data_offsets":[0,16]}})", 16, {"invalid JSON"}},   // found by fuzz_safetensors
            {R"([1,2,3])", 0, {"not a JSON object"}},
            {R"({"t":{"dtype":"F32"}})", 0, {"tensor t", "data_offsets"}},
        };
        for (const Case& c : cases) {
            std::string header = c.header;
            while ((8 + header.size()) % 8) header += ' ';
            test::write_raw_safetensors(f, header, c.data, c.declared);
            expect_error([&] { Checkpoint::open(f); }, c.needles);
        }
        fs::resize_file(f, 3);
        expect_error([&] { Checkpoint::open(f); }, {"too short"});
    }

    void bad_index() {
        const fs::path d = dir("index");
        test::copy_file(test::model_dir("micro-phi") / "config.json", d / "config.json");
        std::ofstream(d / "model.safetensors.index.json") << R"({"weight_map":{"x":"../etc/passwd"}})";
        expect_error([&] { Model::load(d); }, {"plain file name"});
        std::ofstream(d / "model.safetensors.index.json") << R"({"metadata":{}})";
        expect_error([&] { Model::load(d); }, {"weight_map"});
        // Index names a tensor that its shard does not hold.
        test::write_safetensors(d / "s.safetensors", {{"a", "F32", {1}, test::bytes_of(std::vector<float>{1})}});
        std::ofstream(d / "model.safetensors.index.json") << R"({"weight_map":{"a":"s.safetensors","b":"s.safetensors"}})";
        expect_error([&] { Model::load(d); }, {"tensor b", "not in this shard"});
    }

    void no_checkpoint_in_folder() {
        const fs::path d = dir("empty");
        test::copy_file(test::model_dir("micro-phi") / "config.json", d / "config.json");
        expect_error([&] { Model::load(d); }, {"no model.safetensors"});
        expect_error([&] { Model::load(d / "nowhere"); }, {"no such file"});
    }
};

QTEST_GUILESS_MAIN(TestCheckpoint)
#include "tst_checkpoint.moc"
