// The .phz format: lossless round trip, goldens through .phz, int8/int4 error bounds, damage
// detection, interrupted conversion, tokenizer inside the file.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <mutex>

#include "phidesk/backend.h"
#include "phidesk/error.h"
#include "phidesk/golden.h"
#include "phidesk/model.h"
#include "phidesk/phz.h"
#include "phidesk/tokenizer.h"
#include "phz_reader.h"
#include "quantize.h"
#include "weight_stream.h"
#include "test_support.h"

using namespace phidesk;
namespace fs = std::filesystem;

namespace {

template <class Fn>
std::string error_of(Fn&& fn) {
    try {
        fn();
    } catch (const Error& e) {
        return e.what();
    }
    return {};
}

double relative_l2(const std::vector<float>& a, const std::vector<float>& ref) {
    double num = 0, den = 0;
    for (size_t i = 0; i < ref.size(); ++i) num += double(a[i] - ref[i]) * (a[i] - ref[i]), den += double(ref[i]) * ref[i];
    return std::sqrt(num / den);
}

std::vector<uint8_t> read_bytes(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void write_bytes(const fs::path& p, const std::vector<uint8_t>& b) {
    std::ofstream(p, std::ios::binary).write(reinterpret_cast<const char*>(b.data()), std::streamsize(b.size()));
}

// Host memory standing in for a GPU's: counts how often each byte was put, from many threads.
class HostDestination final : public ChunkDestination {
public:
    int fail_at = -1;   // the put() that throws, -1: none
    int device() const override { return 7; }
    std::shared_ptr<const void> allocate(uint64_t bytes, int threads, size_t chunk_bytes) override {
        memory_.assign(bytes, 0), writes.assign(bytes, 0), threads_ = threads, chunk_bytes_ = chunk_bytes;
        return std::shared_ptr<const void>(memory_.data(), [](const void*) {});   // outlives the model here
    }
    void put(int thread, const uint8_t* src, size_t bytes, uint64_t offset) override {
        std::lock_guard<std::mutex> lock(mutex_);
        if (puts++ == fail_at) throw Error("put failed");
        if (thread < 0 || thread >= threads_ || bytes > chunk_bytes_ || offset + bytes > memory_.size())
            throw Error("put out of range");
        std::memcpy(memory_.data() + offset, src, bytes);
        for (size_t i = 0; i < bytes; ++i) ++writes[offset + i];
    }
    void finish() override { finished = true; }

    std::vector<uint8_t> writes;
    int puts = 0;
    bool finished = false;

private:
    std::mutex mutex_;
    std::vector<uint8_t> memory_;
    int threads_ = 0;
    size_t chunk_bytes_ = 0;
};

}  // namespace

class TestPhz : public QObject {
    Q_OBJECT
    QTemporaryDir tmp_;
    fs::path path(const std::string& name) { return fs::path(tmp_.path().toStdString()) / name; }
    // `quant` with "-4k": in 4 KiB chunks; "-4098": 4098-byte chunks (splitting float32 values)
    fs::path converted(const std::string& model, const std::string& quant = "keep") {
        const fs::path out = path(model + "-" + quant + ".phz");
        if (!fs::exists(out)) {
            ConvertOptions o;
            const size_t dash = quant.find('-');
            o.quant = quant.substr(0, dash);
            if (dash != std::string::npos) o.chunk_bytes = quant.substr(dash) == "-4k" ? 4096 : 4098;
            convert_to_phz(test::model_dir(model), out, o);
        }
        return out;
    }

private slots:
    void lossless_round_trip_data() {
        QTest::addColumn<QString>("model");
        for (const char* m : {"micro-phi", "tiny-phi2", "tiny-phi15", "tiny-phi2-legacy"}) QTest::newRow(m) << m;
    }

    void lossless_round_trip() {
        QFETCH(QString, model);
        const auto source = Model::load(test::model_dir(model.toStdString()));
        const auto phz = Model::load(converted(model.toStdString()));
        const auto a = source->tensors(), b = phz->tensors();
        QCOMPARE(a.size(), b.size());
        for (size_t i = 0; i < a.size(); ++i) {
            QCOMPARE(a[i].first, b[i].first);
            QCOMPARE(a[i].second->dtype, b[i].second->dtype);
            QCOMPARE(a[i].second->shape, b[i].second->shape);
            QVERIFY2(std::memcmp(a[i].second->data, b[i].second->data, a[i].second->nbytes()) == 0, a[i].first.c_str());
        }
        auto backend = make_backend(phz, {});
        const GoldenReport r = verify_golden(*backend, test::model_dir(model.toStdString()) / "golden.json");
        QVERIFY2(r.pass, format_report(r).c_str());
    }

    // Relative L2 error of the last-position logits against the golden float32 values.
    void quantized_error_bounds() {
        const nlohmann::json golden = nlohmann::json::parse(std::ifstream(test::model_dir("tiny-phi2") / "golden.json"));
        for (const auto& [quant, bound] : {std::pair<std::string, double>{"int8", 0.03}, {"int4", 0.20}}) {
            const auto model = Model::load(converted("tiny-phi2", quant));
            QCOMPARE(model->weights().layers[0].fc1_w.dtype, quant == "int8" ? DType::Q8 : DType::Q4);
            QCOMPARE(model->weights().embed.dtype, DType::F16);   // embeddings stay lossless
            auto backend = make_backend(model, {});
            double worst = 0;
            for (const auto& c : golden["cases"]) {
                std::vector<float> logits;
                backend->truncate(0);
                backend->eval(c["tokens"].get<std::vector<int32_t>>(), LogitsFor::Last, logits);
                worst = std::max(worst, relative_l2(logits, c["last_logits"].get<std::vector<float>>()));
            }
            qInfo("%s: worst relative L2 error of last logits %.4f (bound %.2f)", quant.c_str(), worst, bound);
            QVERIFY(worst <= bound);
            QVERIFY(worst > 0);   // it is really quantized
        }
    }

    void every_damaged_frame_is_named() {
        const fs::path good = converted("micro-phi");
        const std::vector<uint8_t> bytes = read_bytes(good);
        const PhzHeader h = read_phz_header(good);
        const fs::path bad = path("damaged.phz");
        for (const PhzTensor& t : h.tensors) {
            for (uint64_t at : {t.chunks[0].offset, t.chunks[0].offset + t.chunks[0].size / 2, t.chunks[0].offset + t.chunks[0].size - 1}) {
                std::vector<uint8_t> b = bytes;
                b[at] ^= 0x10;
                write_bytes(bad, b);
                const std::string e = error_of([&] { Model::load(bad); });
                QVERIFY2(e.find("tensor " + t.name) != std::string::npos && e.find("damaged") != std::string::npos,
                         qPrintable(QString("byte %1 of %2: '%3'").arg(at).arg(QString::fromStdString(t.name), QString::fromStdString(e))));
            }
        }
    }

    void damaged_header_preamble_and_truncation() {
        const fs::path good = converted("micro-phi");
        const std::vector<uint8_t> bytes = read_bytes(good);
        uint64_t hoff = 0;
        for (int i = 7; i >= 0; --i) hoff = (hoff << 8) | bytes[16 + size_t(i)];
        const fs::path bad = path("bad.phz");
        auto load_error = [&](std::vector<uint8_t> b) {
            write_bytes(bad, b);
            return error_of([&] { Model::load(bad); });
        };
        for (uint64_t at = hoff; at < bytes.size(); at += std::max<uint64_t>(1, (bytes.size() - hoff) / 40)) {
            std::vector<uint8_t> b = bytes;
            b[at] ^= 0x01;   // anywhere in the header frame: config, tokenizer, tensor table
            const std::string e = load_error(b);
            QVERIFY2(e.find("header") != std::string::npos, qPrintable(QString("byte %1: '%2'").arg(at).arg(QString::fromStdString(e))));
        }
        std::vector<uint8_t> b = bytes;
        b[1] = 'Q';
        QVERIFY(load_error(b).find("wrong magic") != std::string::npos);
        b = bytes;
        b[8] = 2;
        QVERIFY(load_error(b).find("newer PhiDesk") != std::string::npos);
        b = bytes;
        b[12] = 1;
        QVERIFY(load_error(b).find("flags") != std::string::npos);
        b = bytes;
        std::fill(b.begin() + 16, b.begin() + 32, 0);   // an unfinished file: no header yet
        QVERIFY(load_error(b).find("outside the file") != std::string::npos);
        b = bytes;
        b.resize(bytes.size() - 100);
        QVERIFY(load_error(b).find("outside the file") != std::string::npos);
        b.resize(20);
        QVERIFY(load_error(b).find("too short") != std::string::npos);
        b.assign(bytes.begin(), bytes.begin() + long(hoff));   // header gone, preamble intact
        QVERIFY(!load_error(b).empty());
    }

    void interrupted_conversion_leaves_nothing() {
        std::atomic<bool> cancel{false};
        ConvertOptions o;
        o.cancel = &cancel;
        o.on_progress = [&](const ConvertProgress&) { cancel = true; };
        const fs::path out = path("cancelled.phz");
        QVERIFY(error_of([&] { convert_to_phz(test::model_dir("tiny-phi2"), out, o); }).find("cancelled") != std::string::npos);
        QVERIFY(!fs::exists(out));
        QVERIFY(!fs::exists(out.string() + ".partial"));
        o = {};
        o.quant = "int3";
        QVERIFY(!error_of([&] { convert_to_phz(test::model_dir("tiny-phi2"), out, o); }).empty());
        QVERIFY(!fs::exists(out));
    }

    // Loading reports its progress: increasing fractions, each percent once, ending at 1, and a
    // safetensors folder (mapped, nothing to read up front) reports 1 at once.
    void loading_reports_progress() {
        std::vector<double> seen;
        const auto model = Model::load(converted("tiny-phi2"), [&](double f) { seen.push_back(f); });
        QVERIFY(seen.size() >= 10);
        QVERIFY(std::is_sorted(seen.begin(), seen.end()) && std::adjacent_find(seen.begin(), seen.end()) == seen.end());
        QCOMPARE(seen.back(), 1.0);
        seen.clear();
        Model::load(test::model_dir("micro-phi"), [&](double f) { seen.push_back(f); });
        QCOMPARE(seen, std::vector<double>{1.0});
    }

    // Streaming into other memory (a GPU's): every byte put once, float matrices kept as F16,
    // vectors as F32, int8/int4 as stored; the CPU refuses such a model.
    void streams_into_other_memory_data() {
        QTest::addColumn<QString>("model");
        QTest::addColumn<QString>("quant");
        for (const char* m : {"micro-phi", "tiny-phi2", "tiny-phi2-legacy"}) QTest::newRow(m) << m << "keep";
        for (const char* q : {"bf16", "int8", "int4"}) QTest::newRow(q) << "tiny-phi2" << q;
        QTest::newRow("f32 in 4 KiB chunks") << "micro-phi" << "keep-4k";   // conversions across chunks
        QTest::newRow("f16 in 4 KiB chunks") << "tiny-phi2" << "keep-4k";
    }

    void streams_into_other_memory() {
        QFETCH(QString, model);
        QFETCH(QString, quant);
        const fs::path file = converted(model.toStdString(), quant.toStdString());
        const auto host = Model::load(file);
        HostDestination dest;
        const auto streamed = load_phz_model_into(file, dest, 3);
        QVERIFY(dest.finished);
        QCOMPARE(streamed->weights_device(), 7);
        const auto a = host->tensors(), b = streamed->tensors();
        QCOMPARE(a.size(), b.size());
        size_t kept_bytes = 0;
        for (size_t i = 0; i < a.size(); ++i) {
            const TensorView &x = *a[i].second, &y = *b[i].second;
            QCOMPARE(y.dtype, kept_dtype(x.dtype, x.shape.size()));
            QCOMPARE(y.shape, x.shape);
            if (is_quantized(x.dtype)) {
                QVERIFY(std::memcmp(x.scales, y.scales, x.nbytes()) == 0);   // scales, then values, as stored
            } else {
                std::vector<float> want = to_floats(x);
                if (y.dtype == DType::F16)
                    for (float& v : want) v = f16_to_f32(f32_to_f16(v));
                QVERIFY2(to_floats(y) == want, a[i].first.c_str());
            }
            kept_bytes += y.nbytes();
        }
        QCOMPARE(size_t(std::count(dest.writes.begin(), dest.writes.end(), 1)), kept_bytes);
        QCOMPARE(*std::max_element(dest.writes.begin(), dest.writes.end()), uint8_t(1));
        QVERIFY(error_of([&] { make_backend(streamed, {}); }).find("cuda:7") != std::string::npos);
    }

    void failed_put_fails_the_load() {
        HostDestination dest;
        dest.fail_at = 2;
        QCOMPARE(error_of([&] { load_phz_model_into(converted("tiny-phi2"), dest, 2); }), std::string("put failed"));
        QVERIFY(!dest.finished);
        // Chunks that split float32 values can be read into host memory, not converted on the way.
        const fs::path odd = converted("micro-phi", "keep-4098");
        QVERIFY(Model::load(odd));
        QVERIFY(error_of([&] { load_phz_model_into(odd, dest, 2); }).find("split the elements") != std::string::npos);
    }

    // load_model_on_backend: the CPU loads into host memory; without a GPU "auto" says why it
    // took the CPU and "cuda" is an error; with one, a .phz goes into the GPU's memory.
    void model_on_backend() {
        const fs::path file = converted("tiny-phi2");
        BackendOptions o;
        ModelOnBackend cpu = load_model_on_backend(file, o);
        QCOMPARE(cpu.model->weights_device(), -1);
        QVERIFY(cpu.backend->description().rfind("cpu", 0) == 0);
        std::string why;
        const bool gpu = !gpu_devices(why).empty();
        o.backend = "auto";
        ModelOnBackend any = load_model_on_backend(file, o);
        QCOMPARE(any.model->weights_device() >= 0, gpu);
        if (!gpu) QVERIFY(!any.backend->note().empty());
        o.backend = "cuda";
        if (!gpu) QVERIFY(!error_of([&] { load_model_on_backend(file, o); }).empty());
        const GoldenReport r = verify_golden(*any.backend, test::model_dir("tiny-phi2") / "golden.json",
                                             golden_tolerance(any.backend->precision()));
        QVERIFY2(r.pass, format_report(r).c_str());
    }

    void tokenizer_travels_inside() {
        const fs::path out = path("demo.phz");
        convert_to_phz(test::reference_dir() / "demo" / "phi-demo", out, {});
        const Tokenizer a = Tokenizer::load(out), b = Tokenizer::load(test::reference_dir() / "demo" / "phi-demo");
        const std::string text = "Instruct: What is Phi-2?\nOutput:  \t\t<|endoftext|> 你好";
        QCOMPARE(a.encode(text), b.encode(text));
        QCOMPARE(a.size(), 50295);
        // A model without tokenizer files says so.
        QVERIFY(error_of([&] { Tokenizer::load(converted("micro-phi")); }).find("no tokenizer") != std::string::npos);
    }
};

QTEST_GUILESS_MAIN(TestPhz)
#include "tst_phz.moc"
