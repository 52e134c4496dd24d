// The CUDA backend against the goldens (fp16 tolerance), cached decoding against a full pass,
// graph replay against plain launches, a model streamed into GPU memory against one uploaded, and
// quantized weights on the GPU against the CPU. Skipped, with the reason, without a GPU.
#include <algorithm>
#include <cmath>

#include "phidesk/backend.h"
#include "phidesk/error.h"
#include "phidesk/golden.h"
#include "phidesk/model.h"
#include "phidesk/phz.h"
#include "test_support.h"

using namespace phidesk;

class TestCuda : public QObject {
    Q_OBJECT
    QTemporaryDir tmp_;

    static std::unique_ptr<Backend> gpu(const std::shared_ptr<const Model>& m) {
        BackendOptions o;
        o.backend = "cuda";
        return make_backend(m, o);
    }

private slots:
    void initTestCase() {
        std::string why;
        if (gpu_devices(why).empty()) QSKIP(qPrintable(QString::fromStdString("no usable CUDA GPU: " + why)));
    }

    void no_gpu_is_a_clear_error_or_cpu_fallback() {
        // With a GPU present, "auto" must pick it; the no-GPU message is covered by CI (no GPU there).
        BackendOptions o;
        o.backend = "auto";
        auto b = make_backend(Model::load(test::model_dir("micro-phi")), o);
        QVERIFY(b->description().rfind("cuda", 0) == 0);
    }

    void goldens_data() {
        QTest::addColumn<QString>("model");
        for (const char* m : {"micro-phi", "tiny-phi2", "tiny-phi15", "tiny-phi2-legacy"}) QTest::newRow(m) << m;
    }

    void goldens() {
        QFETCH(QString, model);
        auto b = gpu(Model::load(test::model_dir(model.toStdString())));
        QCOMPARE(b->precision(), Precision::F16);
        const GoldenReport r = verify_golden(*b, test::model_dir(model.toStdString()) / "golden.json");
        QCOMPARE(r.tolerance, 5e-2);
        QVERIFY2(r.pass, format_report(r).c_str());
    }

    void cached_decode_equals_full_pass() {
        auto b = gpu(Model::load(test::model_dir("tiny-phi2")));
        std::vector<int32_t> tokens;
        for (int i = 0; i < 300; ++i) tokens.push_back((i * 7919 + 13) % 51200);
        std::vector<float> full, step, inc;
        b->eval(tokens, LogitsFor::All, full);
        b->truncate(0);
        b->eval(std::span(tokens).first(260), LogitsFor::All, inc);
        for (size_t i = 260; i < tokens.size(); ++i) {
            b->eval(std::span(tokens).subspan(i, 1), LogitsFor::Last, step);
            inc.insert(inc.end(), step.begin(), step.end());
        }
        double worst = 0;
        for (size_t i = 0; i < full.size(); ++i) worst = std::max(worst, double(std::fabs(full[i] - inc[i])));
        QVERIFY2(worst <= 5e-2, qPrintable(QString::number(worst)));
    }

    // A replayed CUDA Graph step gives exactly the logits of the same step launched kernel by
    // kernel, at every position, also after truncate() moves the position back.
    void graph_replay_equals_plain_step() {
        const auto m = Model::load(test::model_dir("tiny-phi2"));
        BackendOptions o;
        o.backend = "cuda";
        o.gpu_graphs = false;
        auto graphed = gpu(m), plain = make_backend(m, o);
        std::vector<float> a, b;
        const std::vector<int32_t> prompt = {50256, 464, 318, 257, 1332};
        graphed->eval(prompt, LogitsFor::Last, a);
        plain->eval(prompt, LogitsFor::Last, b);
        for (int i = 0; i < 24; ++i) {
            if (i == 16) graphed->truncate(3), plain->truncate(3);
            const int32_t next = int32_t(std::max_element(a.begin(), a.end()) - a.begin());
            graphed->eval(std::span(&next, 1), LogitsFor::Last, a);
            plain->eval(std::span(&next, 1), LogitsFor::Last, b);
            QVERIFY2(a == b, qPrintable(QString("step %1 at position %2").arg(i).arg(graphed->cached_tokens() - 1)));
        }
    }

    // A .phz streamed into GPU memory (chunks through pinned buffers) runs exactly like the same
    // file loaded into host memory and uploaded: the same values reach the same kernels.
    void streamed_model_equals_uploaded() {
        for (const auto& [model, quant] : {std::pair<std::string, std::string>{"micro-phi", "keep"}, {"tiny-phi2", "keep"},
                                           {"tiny-phi2", "bf16"}, {"tiny-phi2", "int4"}}) {
            const auto out = std::filesystem::path(tmp_.path().toStdString()) / (model + "-" + quant + ".phz");
            ConvertOptions c;
            c.quant = quant;
            convert_to_phz(test::model_dir(model), out, c);
            BackendOptions o;
            o.backend = "cuda";
            ModelOnBackend streamed = load_model_on_backend(out, o);
            QCOMPARE(streamed.model->weights_device(), 0);
            auto uploaded = gpu(Model::load(out));
            const std::vector<int32_t> tokens = {5, 17, 300, 42, 7, 99, 250, 3};
            std::vector<float> a, b;
            streamed.backend->eval(tokens, LogitsFor::All, a);
            uploaded->eval(tokens, LogitsFor::All, b);
            QVERIFY2(a == b, (model + " " + quant).c_str());
        }
    }

    void quantized_gpu_agrees_with_cpu() {
        for (const char* quant : {"int8", "int4"}) {
            const auto out = std::filesystem::path(tmp_.path().toStdString()) / (std::string(quant) + ".phz");
            ConvertOptions o;
            o.quant = quant;
            convert_to_phz(test::model_dir("tiny-phi2"), out, o);
            const auto m = Model::load(out);
            auto cpu = make_backend(m, {}), cuda = gpu(m);
            std::vector<float> a, b;
            const std::vector<int32_t> tokens = {50256, 464, 318, 257, 1332};
            cpu->eval(tokens, LogitsFor::Last, a);   // a batch: blocks of rows dequantized for cuBLAS
            cuda->eval(tokens, LogitsFor::Last, b);
            for (int step = 0; step <= 8; ++step) {   // then single tokens: matrix-vector kernels
                double worst = 0;
                for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, double(std::fabs(a[i] - b[i])));
                QVERIFY2(worst <= 5e-2, qPrintable(QString("%1, step %2: %3").arg(quant).arg(step).arg(worst)));
                const int32_t next = int32_t(std::max_element(a.begin(), a.end()) - a.begin());
                cpu->eval(std::span(&next, 1), LogitsFor::Last, a);
                cuda->eval(std::span(&next, 1), LogitsFor::Last, b);
            }
        }
    }
};

QTEST_GUILESS_MAIN(TestCuda)
#include "tst_cuda.moc"
