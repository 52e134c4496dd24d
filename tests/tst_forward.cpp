// The forward pass against the reference goldens, on every CPU kernel level, plus the
// properties generation relies on: cached decoding equals a full pass, namings agree, limits hold.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <new>

#include "cpu/kernels.h"
#include "phidesk/backend.h"
#include "phidesk/error.h"
#include "phidesk/golden.h"
#include "phidesk/model.h"
#include "phidesk/phz.h"
#include "phidesk/sampler.h"
#include "test_support.h"

// Every operator new in this binary passes here (not direct malloc calls), so a test can check that
// a stretch of C++ code makes no heap allocation.
static std::atomic<long> g_allocations{0};
void* operator new(std::size_t n) {
    g_allocations.fetch_add(1, std::memory_order_relaxed);
    if (void* p = std::malloc(n ? n : 1)) return p;
    throw std::bad_alloc();
}
void* operator new(std::size_t n, std::align_val_t a) {
    g_allocations.fetch_add(1, std::memory_order_relaxed);
    const std::size_t align = std::max(std::size_t(a), sizeof(void*));
    if (n > SIZE_MAX - align) throw std::bad_alloc();
    if (void* p = std::aligned_alloc(align, (std::max<std::size_t>(n, 1) + align - 1) / align * align)) return p;
    throw std::bad_alloc();
}
// These deletes free what the news above got from malloc; GCC, seeing a delete inlined into a
// caller whose memory came from "operator new", takes that for a mismatch.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
#pragma GCC diagnostic pop

using namespace phidesk;

namespace {

std::unique_ptr<Backend> cpu(const std::string& model, BackendOptions o = {}) {
    return make_backend(Model::load(test::model_dir(model)), o);
}

// Logits of every position of `tokens` from an empty cache: the first `prompt` in one eval, the
// rest one at a time (the decode path).
std::vector<float> logits_one_at_a_time(Backend& b, std::span<const int32_t> tokens, size_t prompt) {
    std::vector<float> all, step;
    b.truncate(0);
    b.eval(tokens.first(prompt), LogitsFor::All, all);
    for (size_t i = prompt; i < tokens.size(); ++i) {
        b.eval(tokens.subspan(i, 1), LogitsFor::Last, step);
        all.insert(all.end(), step.begin(), step.end());
    }
    return all;
}

std::vector<int32_t> some_tokens(int n, int vocab) {
    std::vector<int32_t> t;
    for (int i = 0; i < n; ++i) t.push_back(int32_t((i * 7919 + 13) % vocab));
    return t;
}

double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
    if (a.size() != b.size()) return INFINITY;
    double m = 0;
    for (size_t i = 0; i < a.size(); ++i) m = std::max(m, double(std::fabs(a[i] - b[i])));
    return m;
}

// tiny-phi2 converted to a .phz with `quant` weights ("int8", "int4") in dir; returns its path.
std::filesystem::path quantized_tiny_phi2(const QTemporaryDir& dir, const std::string& quant) {
    const auto phz = std::filesystem::path(dir.path().toStdString()) / (quant + ".phz");
    ConvertOptions co;
    co.quant = quant;
    convert_to_phz(test::model_dir("tiny-phi2"), phz, co);
    return phz;
}

}  // namespace

class TestForward : public QObject {
    Q_OBJECT

private slots:
    void golden_data() {
        QTest::addColumn<QString>("model");
        QTest::addColumn<QString>("level");
        for (const char* m : {"micro-phi", "tiny-phi2", "tiny-phi15", "tiny-phi2-legacy"})
            for (const char* level : {"portable", "avx2", "avx512"}) QTest::newRow(qPrintable(QString("%1/%2").arg(m, level))) << m << level;
    }

    void golden() {
        QFETCH(QString, model);
        QFETCH(QString, level);
        if (!cpu_runs_kernels(level.toStdString())) QSKIP(qPrintable("this CPU does not run the " + level + " kernels"));
        BackendOptions o;
        o.cpu_kernels = level.toStdString();
        auto b = cpu(model.toStdString(), o);
        const GoldenReport r = verify_golden(*b, test::model_dir(model.toStdString()) / "golden.json");
        QVERIFY2(r.pass, format_report(r).c_str());
        QCOMPARE(r.tolerance, 1e-3);
        QCOMPARE(int(r.cases.size()), 4);
        for (const GoldenCase& c : r.cases) {
            // A correct float32 engine reaches 1e-4 (reference README); the pass bound is 1e-3.
            QVERIFY2(c.max_abs_last <= 1e-4 && c.max_abs_topk <= 1e-4, format_report(r).c_str());
            QVERIFY(c.top1_checked >= c.tokens * 99 / 100);   // only near-ties are exempt
            QVERIFY(c.greedy_checked >= 40);
            QVERIFY(c.kv_steps >= 1);
        }
    }

    // A float16 KV cache rounds every key and value, so the backend claims float16 agreement
    // and meets the goldens at that tolerance (each model at this CPU's best kernel level: the
    // levels' float16 kernels equal their float ones, tst_cpu_kernels).
    void f16_kv_cache_meets_goldens() {
        QFETCH(QString, model);
        BackendOptions o;
        o.kv_cache = "f16";
        auto b = cpu(model.toStdString(), o);
        QCOMPARE(b->precision(), Precision::F16);
        QVERIFY(b->description().find("float16 KV cache") != std::string::npos);
        const GoldenReport r = verify_golden(*b, test::model_dir(model.toStdString()) / "golden.json");
        QVERIFY2(r.pass, format_report(r).c_str());
        QCOMPARE(r.tolerance, 5e-2);
        double worst = 0;
        for (const GoldenCase& c : r.cases) worst = std::max({worst, c.max_abs_last, c.max_abs_topk});
        qInfo("largest difference from the goldens %.2e", worst);
    }

    void f16_kv_cache_meets_goldens_data() {
        QTest::addColumn<QString>("model");
        for (const char* m : {"micro-phi", "tiny-phi2", "tiny-phi15", "tiny-phi2-legacy"}) QTest::newRow(m) << m;
    }

    // A float16 cache's prompt path (a second 128-token batch reading the first from the cache)
    // and decode path, and a float32 cache, agree to float16's tolerance, not float32's: the
    // paths' float32 rounding differences can move a key or value across a float16 rounding
    // boundary (an ulp of 2^-11). The cache takes half a float32 cache's bytes.
    void f16_kv_cache_paths_agree() {
        QFETCH(QString, level);
        if (!cpu_runs_kernels(level.toStdString())) QSKIP(qPrintable("this CPU does not run the " + level + " kernels"));
        BackendOptions o;
        o.cpu_kernels = level.toStdString();
        auto b32 = cpu("micro-phi", o);
        o.kv_cache = "f16";
        auto b = cpu("micro-phi", o);
        QCOMPARE(b->kv_cache_bytes() * 2, b32->kv_cache_bytes());
        const auto tokens = some_tokens(140, 512);
        std::vector<float> full, full32;
        b->eval(tokens, LogitsFor::All, full);
        b32->eval(tokens, LogitsFor::All, full32);
        const std::vector<float> incremental = logits_one_at_a_time(*b, tokens, 20);
        const double paths = max_abs_diff(full, incremental), caches = max_abs_diff(full, full32);
        const double tolerance = golden_tolerance(b->precision());
        qInfo("largest difference: prompt against decode path %.2e, from a float32 cache %.2e", paths, caches);
        QVERIFY2(paths <= tolerance, qPrintable(QString::number(paths)));
        QVERIFY2(caches > 0 && caches <= tolerance, qPrintable(QString::number(caches)));
    }

    void f16_kv_cache_paths_agree_data() {
        QTest::addColumn<QString>("level");
        for (const char* level : {"portable", "avx2", "avx512"}) QTest::newRow(level) << level;
    }

    // An unknown cache type fails, and so does a float16 cache asked of a GPU (which keeps
    // float32), before any GPU is looked for.
    void kv_cache_type_is_checked() {
        BackendOptions o;
        o.kv_cache = "f8";
        QVERIFY_THROWS_EXCEPTION(Error, cpu("micro-phi", o));
        o.kv_cache = "f16";
        o.backend = "cuda:0";
        try {
            cpu("micro-phi", o);
            QFAIL("a float16 cache on a GPU was accepted");
        } catch (const Error& e) {
            QVERIFY2(std::string(e.what()).find("float32 KV cache") != std::string::npos, e.what());
        }
    }

    // The checker itself can fail: no float engine matches to 1e-9.
    void golden_check_detects_differences() {
        auto b = cpu("micro-phi");
        const GoldenReport r = verify_golden(*b, test::model_dir("micro-phi") / "golden.json", 1e-9);
        QVERIFY(!r.pass);
    }

    void kv_cache_decode_equals_full_pass() {
        auto b = cpu("tiny-phi2");
        const auto tokens = some_tokens(300, 51200);   // crosses the 128-token batch boundary
        std::vector<float> full;
        b->eval(tokens, LogitsFor::All, full);
        QCOMPARE(b->cached_tokens(), 300);
        const std::vector<float> incremental = logits_one_at_a_time(*b, tokens, 70);
        // Prefill (packed panels) and decode (row dots) sum in different orders, so they agree to
        // float rounding: the reference README's bound for a correct fp32 engine, 1e-4.
        QVERIFY2(max_abs_diff(full, incremental) <= 1e-4, qPrintable(QString::number(max_abs_diff(full, incremental))));
    }

    void truncate_keeps_the_prefix() {
        auto b = cpu("micro-phi");
        const auto a = some_tokens(30, 512);
        std::vector<float> first, reused, fresh;
        b->eval(a, LogitsFor::Last, first);
        b->truncate(12);
        QCOMPARE(b->cached_tokens(), 12);
        const std::vector<int32_t> tail = {5, 6, 7};
        b->eval(tail, LogitsFor::Last, reused);
        std::vector<int32_t> whole(a.begin(), a.begin() + 12);
        whole.insert(whole.end(), tail.begin(), tail.end());
        b->truncate(0);
        b->eval(whole, LogitsFor::Last, fresh);
        QVERIFY(max_abs_diff(reused, fresh) <= 1e-5);
    }

    // Two or three tokens at once take the decode path (each weight read once per token, int4
    // inputs reordered per token into one shared buffer): the same bits as one token at a time.
    void short_batches_equal_single_steps_with_quantized_weights() {
        QTemporaryDir tmp;
        for (const char* quant : {"int8", "int4"}) {
            auto b = make_backend(Model::load(quantized_tiny_phi2(tmp, quant)), {});
            const auto tokens = some_tokens(9, 51200);
            std::vector<float> together, step, apart;
            b->eval(std::span(tokens).first(6), LogitsFor::All, apart);   // prefill path
            b->eval(std::span(tokens).subspan(6), LogitsFor::All, together);
            b->truncate(6);
            apart.clear();
            for (size_t i = 6; i < tokens.size(); ++i) {
                b->eval(std::span(tokens).subspan(i, 1), LogitsFor::Last, step);
                apart.insert(apart.end(), step.begin(), step.end());
            }
            QVERIFY2(together == apart, quant);
        }
    }

    // A decode step on the CPU allocates nothing (issue 7/8): once a prompt has run, one-token
    // evals into a logits vector already sized, and sampled steps, make no heap allocation, at
    // every kernel level and for float, int8 and int4 weights (int4 reorders its input per step).
    void decode_steps_allocate_nothing() {
        QTemporaryDir tmp;
        std::vector<std::shared_ptr<const Model>> models{Model::load(test::model_dir("tiny-phi2"))};
        for (const char* quant : {"int8", "int4"}) models.push_back(Model::load(quantized_tiny_phi2(tmp, quant)));
        for (const char* level : {"portable", "avx2", "avx512"}) {
            if (!cpu_runs_kernels(level)) continue;
            for (const auto& model : models) {
                BackendOptions o;
                o.cpu_kernels = level;
                o.threads = 2;
                auto b = make_backend(model, o);
                Sampler sampler(default_sampling(Job::Chat));
                const auto tokens = some_tokens(13, 51200);
                std::vector<float> logits;
                b->eval(std::span(tokens).first(8), LogitsFor::Last, logits);   // first uses size the buffers
                b->eval(std::span(tokens).subspan(8, 1), LogitsFor::Last, logits);
                b->eval_and_pick(std::span(tokens).subspan(9, 1), sampler, std::span(tokens).first(10));
                const long before = g_allocations.load();
                b->eval(std::span(tokens).subspan(10, 1), LogitsFor::Last, logits);
                b->eval_and_pick(std::span(tokens).subspan(11, 1), sampler, std::span(tokens).first(12));
                b->eval_and_pick(std::span(tokens).subspan(12, 1), sampler, tokens);
                const long made = g_allocations.load() - before;
                QVERIFY2(made == 0, qPrintable(QString("%1, %2: %3 allocations").arg(level).arg(QString::fromStdString(b->description())).arg(made)));
            }
        }
    }

    void legacy_and_hf_names_give_identical_logits() {
        const auto tokens = some_tokens(40, 51200);
        std::vector<float> a, b;
        cpu("tiny-phi2")->eval(tokens, LogitsFor::All, a);
        cpu("tiny-phi2-legacy")->eval(tokens, LogitsFor::All, b);
        QCOMPARE(a.size(), size_t(40 * 51200));
        QVERIFY(a == b);
    }

    void thread_count_does_not_change_results() {
        const auto tokens = some_tokens(20, 512);
        std::vector<float> one, three;
        BackendOptions o;
        o.threads = 1;
        cpu("micro-phi", o)->eval(tokens, LogitsFor::All, one);
        o.threads = 3;
        cpu("micro-phi", o)->eval(tokens, LogitsFor::All, three);
        QVERIFY(one == three);
    }

    void context_limit_is_a_clear_error() {
        BackendOptions o;
        o.context = 16;
        auto b = cpu("micro-phi", o);
        QCOMPARE(b->context_length(), 16);
        std::vector<float> logits;
        b->eval(some_tokens(10, 512), LogitsFor::Last, logits);
        QVERIFY_THROWS_EXCEPTION(ContextFullError, b->eval(some_tokens(7, 512), LogitsFor::Last, logits));
        QCOMPARE(b->cached_tokens(), 10);   // the failed request changed nothing
        b->eval(some_tokens(6, 512), LogitsFor::Last, logits);
        QCOMPARE(b->cached_tokens(), 16);

        // The model's own limit (micro-phi: 256 positions).
        auto full = cpu("micro-phi");
        QVERIFY_THROWS_EXCEPTION(ContextFullError, full->eval(some_tokens(257, 512), LogitsFor::Last, logits));
        o.context = 257;
        QVERIFY_THROWS_EXCEPTION(Error, cpu("micro-phi", o));
    }

    void bad_token_ids_are_errors() {
        auto b = cpu("micro-phi");
        std::vector<float> logits;
        const std::vector<int32_t> outside = {1, 512};
        QVERIFY_THROWS_EXCEPTION(Error, b->eval(outside, LogitsFor::Last, logits));
        const std::vector<int32_t> negative = {-1};
        QVERIFY_THROWS_EXCEPTION(Error, b->eval(negative, LogitsFor::Last, logits));
        QVERIFY_THROWS_EXCEPTION(Error, b->eval({}, LogitsFor::Last, logits));
        QCOMPARE(b->cached_tokens(), 0);
    }

    void unknown_backend_is_an_error() {
        BackendOptions o;
        o.backend = "tpu";
        QVERIFY_THROWS_EXCEPTION(Error, cpu("micro-phi", o));
    }
};

QTEST_GUILESS_MAIN(TestForward)
#include "tst_forward.moc"
