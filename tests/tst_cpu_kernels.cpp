// Each CPU kernel level against the scalar conversions and plain references.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <random>

#include <sys/mman.h>
#include <unistd.h>

#include "cpu/kernels.h"
#include "cpu/kv_cache.h"
#include "cpu/ops.h"
#include "quantize.h"
#include "phidesk/error.h"
#include "phidesk/machine_bench.h"
#include "phidesk/tensor.h"
#include "test_support.h"

using namespace phidesk;

class TestCpuKernels : public QObject {
    Q_OBJECT

    // A [rows, cols] weight of dtype d made from random floats; `bytes` keeps its storage.
    static TensorView random_weight(DType d, int64_t rows, int64_t cols, uint32_t seed, std::vector<uint8_t>& bytes) {
        const std::vector<float> w = random_vector(size_t(rows * cols), seed);
        const TensorView f32{"w", DType::F32, {rows, cols}, w.data(), nullptr};
        if (d == DType::F32) bytes.assign(reinterpret_cast<const uint8_t*>(w.data()), reinterpret_cast<const uint8_t*>(w.data() + w.size()));
        else bytes = is_quantized(d) ? quantize(d, f32) : convert_float(d, f32);
        const size_t ns = scale_count(d, rows, cols);
        return {"w", d, {rows, cols}, bytes.data() + 2 * ns, ns ? reinterpret_cast<const uint16_t*>(bytes.data()) : nullptr};
    }

    static std::vector<float> random_vector(size_t n, uint32_t seed) {
        std::mt19937 rng(seed);
        std::normal_distribution<float> d(0.0f, 1.0f);
        std::vector<float> v(n);
        for (float& x : v) x = d(rng);
        return v;
    }

    // Random values rounded to float16: as halves, and the same values as floats.
    struct Halves {
        std::vector<uint16_t> halves;
        std::vector<float> floats;
    };
    static Halves random_halves(size_t n, uint32_t seed) {
        Halves h;
        for (float v : random_vector(n, seed)) {
            h.halves.push_back(f32_to_f16(v));
            h.floats.push_back(f16_to_f32(h.halves.back()));
        }
        return h;
    }

private slots:
    void f16_scalar_round_trip() {
        for (uint32_t h = 0; h < 0x10000; ++h) {
            const float f = f16_to_f32(uint16_t(h));
            if (std::isnan(f)) continue;
            QCOMPARE(f32_to_f16(f), uint16_t(h));
        }
        QCOMPARE(f16_to_f32(0x3c00), 1.0f);
        QCOMPARE(f16_to_f32(0x7bff), 65504.0f);
        QCOMPARE(f16_to_f32(0x0001), 5.9604644775390625e-8f);
        QCOMPARE(f32_to_f16(65520.0f), uint16_t(0x7c00));      // rounds up to infinity
        QCOMPARE(f32_to_f16(65519.0f), uint16_t(0x7bff));
        QCOMPARE(f32_to_f16(0.1f), uint16_t(0x2e66));
        QCOMPARE(f32_to_f16(2.98023224e-8f), uint16_t(0x0000));  // exactly half the smallest subnormal: to even
        QCOMPARE(f32_to_f16(2.99e-8f), uint16_t(0x0001));
        QCOMPARE(f32_to_f16(-0.0f), uint16_t(0x8000));
    }

    void bf16_rounding() {
        auto from_bits = [](uint32_t u) { float f; std::memcpy(&f, &u, 4); return f; };
        QCOMPARE(f32_to_bf16(from_bits(0x3f808000)), uint16_t(0x3f80));   // tie to even (down)
        QCOMPARE(f32_to_bf16(from_bits(0x3f818000)), uint16_t(0x3f82));   // tie to even (up)
        QCOMPARE(f32_to_bf16(from_bits(0x3f808001)), uint16_t(0x3f81));
        QCOMPARE(bf16_to_f32(0xc000), -2.0f);
    }

    void levels_data() {
        QTest::addColumn<QString>("level");
        QTest::newRow("portable") << "portable";
        QTest::newRow("avx2") << "avx2";
        QTest::newRow("avx512") << "avx512";
    }

    void levels() {
        QFETCH(QString, level);
        if (!cpu_runs_kernels(level.toStdString())) QSKIP(qPrintable("this CPU does not run the " + level + " kernels"));
        const std::string name = level.toStdString();
        const CpuKernels& k = select_cpu_kernels(name);
        QCOMPARE(QString(k.name), level);

        std::vector<uint16_t> all(0x10000);
        for (uint32_t i = 0; i < all.size(); ++i) all[i] = uint16_t(i);
        std::vector<float> out(all.size());
        k.f16_to_f32(all.data(), out.data(), int64_t(all.size()));
        for (uint32_t i = 0; i < all.size(); ++i) {
            const float want = f16_to_f32(uint16_t(i));
            QVERIFY(std::isnan(want) ? std::isnan(out[i]) : out[i] == want);
        }
        k.bf16_to_f32(all.data(), out.data(), int64_t(all.size()));
        for (uint32_t i = 0; i < all.size(); ++i) {
            const float want = bf16_to_f32(uint16_t(i));
            QVERIFY(std::isnan(want) ? std::isnan(out[i]) : out[i] == want);
        }

        for (int64_t n : {0, 1, 7, 8, 31, 33, 80, 2560, 10240}) {
            const auto a = random_vector(size_t(n), 1), b = random_vector(size_t(n), 2);
            double exact = 0, magnitude = 0;
            for (int64_t i = 0; i < n; ++i) exact += double(a[i]) * b[i], magnitude += std::fabs(double(a[i]) * b[i]);
            QVERIFY2(std::fabs(k.dot(a.data(), b.data(), n) - exact) <= 1e-6 * magnitude + 1e-7,
                     qPrintable(QString("dot of length %1").arg(n)));
        }
    }

    // Decode attention's two halves against double sums: key_scores (q against each cached key)
    // and weighted_sum (values weighted by probabilities), for head sizes with and without a
    // tail of the vector width and position counts around the eight-at-a-time blocks, the rows
    // `stride` apart as in the cache. The cache's values are float16's, so that the kernels for
    // a float16 cache can be checked too: bit for bit the float kernels' sums.
    void attention_kernels_match_reference() {
        QFETCH(QString, level);
        if (!cpu_runs_kernels(level.toStdString())) QSKIP(qPrintable("this CPU does not run the " + level + " kernels"));
        const CpuKernels& k = select_cpu_kernels(level.toStdString());
        for (int64_t d : {int64_t(20), int64_t(64), int64_t(80), int64_t(136)})
            for (int64_t positions : {int64_t(1), int64_t(7), int64_t(8), int64_t(19)}) {
                const int64_t stride = 3 * d + 5;
                const auto q = random_vector(size_t(d), 3), p = random_vector(size_t(positions), 6);
                const Halves h = random_halves(size_t(positions * stride), 4);
                const std::vector<uint16_t>& cache16 = h.halves;
                const std::vector<float>& cache = h.floats;
                std::vector<float> scores(static_cast<size_t>(positions)), out(static_cast<size_t>(d), 99.0f);
                k.key_scores(q.data(), cache.data(), stride, positions, d, scores.data());
                k.weighted_sum(p.data(), cache.data(), stride, positions, d, out.data());
                std::vector<float> scores16(static_cast<size_t>(positions), 99.0f), out16(static_cast<size_t>(d), 99.0f);
                k.key_scores_f16(q.data(), cache16.data(), stride, positions, d, scores16.data());
                k.weighted_sum_f16(p.data(), cache16.data(), stride, positions, d, out16.data());
                // |got - sum of count terms| within float rounding of the terms' magnitude
                auto near_sum = [](float got, int64_t count, auto term) {
                    double exact = 0, magnitude = 0;
                    for (int64_t i = 0; i < count; ++i) exact += term(i), magnitude += std::fabs(term(i));
                    return std::fabs(got - exact) <= 1e-6 * magnitude + 1e-7;
                };
                const QString where = QString("d %1 positions %2").arg(d).arg(positions);
                for (int64_t j = 0; j < positions; ++j)
                    QVERIFY2(near_sum(scores[size_t(j)], d, [&](int64_t i) { return double(q[size_t(i)]) * cache[size_t(j * stride + i)]; }),
                             qPrintable(where + " key " + QString::number(j)));
                for (int64_t i = 0; i < d; ++i)
                    QVERIFY2(near_sum(out[size_t(i)], positions, [&](int64_t j) { return double(p[size_t(j)]) * cache[size_t(j * stride + i)]; }),
                             qPrintable(where + " dim " + QString::number(i)));
                QVERIFY2(scores16 == scores, qPrintable(where + ": float16 cache's scores"));
                QVERIFY2(out16 == out, qPrintable(where + ": float16 cache's weighted sum"));
            }
    }

    void attention_kernels_match_reference_data() { levels_data(); }

    // The saturating float16 conversion (a float16 KV cache's store) equals the scalar rounding
    // of the clamped value at every level: ties to even, overflow held to +-65504, half
    // subnormals, float subnormals to zero, NaN kept; over a length with a vector tail.
    void f16_saturating_conversion() {
        QFETCH(QString, level);
        if (!cpu_runs_kernels(level.toStdString())) QSKIP(qPrintable("this CPU does not run the " + level + " kernels"));
        const CpuKernels& k = select_cpu_kernels(level.toStdString());
        std::vector<float> x = {1.0f, 1.0f + 0x1p-11f, 1.0f + 0x1p-11f + 0x1p-20f, 1.0f + 0x3p-11f, 70000.0f, -70000.0f,
                                INFINITY, -INFINITY, 65504.0f, 65519.0f, 65520.0f, 0x1p-24f, 0x1p-25f, 0x3p-26f,
                                1e-8f, 0x1p-130f, -0.0f, std::nanf("")};
        std::mt19937 rng(5);
        for (float v : random_vector(67, 31)) x.push_back(std::ldexp(v, int(rng() % 50) - 30));
        std::vector<uint16_t> got(x.size());
        k.f32_to_f16_saturating(x.data(), got.data(), int64_t(x.size()));
        for (size_t i = 0; i < x.size(); ++i) {
            if (std::isnan(x[i])) {
                QVERIFY(std::isnan(f16_to_f32(got[i])));
                continue;
            }
            QVERIFY2(got[i] == f32_to_f16(std::clamp(x[i], -65504.0f, 65504.0f)), qPrintable(QString("element %1: %2").arg(i).arg(x[i])));
        }
        QCOMPARE(got[1], f32_to_f16(1.0f));   // the tie 1 + 2^-11 rounds to even, down
        QCOMPARE(got[3], f32_to_f16(1.0f + 0x1p-9f));   // the tie 1 + 3 * 2^-11 rounds to even, up
        QCOMPARE(got[4], uint16_t(0x7bff));   // 70000: the largest finite half, not infinity
        QCOMPARE(got[6], uint16_t(0x7bff));   // so is infinity
    }

    void f16_saturating_conversion_data() { levels_data(); }

    // A float16 cache stores each key and value where it belongs, as the saturating conversion
    // gives it, in half the bytes.
    void f16_kv_cache_stores_rounded_halves() {
        KvCache c32(DType::F32, 2, 10, 2, 3), c16(DType::F16, 2, 10, 2, 3);
        QCOMPARE(c16.bytes() * 2, c32.bytes());
        const std::vector<float> keys = {1.0f, 1.0f + 0x1p-11f, 1.0f + 0x1p-11f + 0x1p-20f, 70000.0f, -0x1p-25f, 3.14159f},
                                 values = {-2.0f, 0.1f, 0.2f, 0.3f, 65504.0f, 1e-8f};
        c16.store(select_cpu_kernels("portable"), 1, 4, 1, keys.data(), values.data());
        const auto* k = reinterpret_cast<const uint16_t*>(c16.k[1].get());
        const auto* v = reinterpret_cast<const uint16_t*>(c16.v[1].get());
        for (int h = 0; h < 2; ++h)
            for (int i = 0; i < 3; ++i) {
                const int64_t at = h * c16.head_stride() + 4 * 3 + i;
                QCOMPARE(k[at], f32_to_f16(std::clamp(keys[size_t(h * 3 + i)], -65504.0f, 65504.0f)));
                QCOMPARE(v[at], f32_to_f16(values[size_t(h * 3 + i)]));
            }
        QCOMPARE(f16_to_f32(k[c16.head_stride() + 4 * 3]), 65504.0f);   // 70000: the largest half, not infinity
        QCOMPARE(f16_to_f32(k[4 * 3 + 1]), 1.0f);   // the tie 1 + 2^-11 rounds to even
        QCOMPARE(f16_to_f32(k[4 * 3 + 2]), 1.0f + 0x1p-10f);
    }

    // The kernels' dequantization equals the plain reference (quantize.cpp) element for element.
    void quantized_rows() {
        QFETCH(QString, level);
        if (!cpu_runs_kernels(level.toStdString())) QSKIP(qPrintable("this CPU does not run the " + level + " kernels"));
        const std::string name = level.toStdString();
        const CpuKernels& k = select_cpu_kernels(name);
        const int64_t rows = 7, cols = 160;
        const std::vector<float> w = random_vector(size_t(rows * cols), 3);
        const TensorView f32{"w", DType::F32, {rows, cols}, w.data(), nullptr};
        for (DType q : {DType::Q8, DType::Q4}) {
            const std::vector<uint8_t> payload = quantize(q, f32);
            const size_t n_scales = scale_count(q, rows, cols);
            const TensorView t{"w", q, {rows, cols}, payload.data() + 2 * n_scales,
                               reinterpret_cast<const uint16_t*>(payload.data())};
            std::vector<float> want(static_cast<size_t>(cols)), got(static_cast<size_t>(cols));
            double max_err = 0;
            for (int64_t r = 0; r < rows; ++r) {
                row_to_f32(t, r, want.data());
                const uint8_t* row = static_cast<const uint8_t*>(t.data) + value_bytes(q, r, cols);
                if (q == DType::Q8) k.q8_to_f32(reinterpret_cast<const int8_t*>(row), f16_to_f32(t.scales[r]), got.data(), cols);
                else k.q4_to_f32(row, t.scales + r * (cols / kQ4Group), got.data(), cols);
                QVERIFY(want == got);
                for (int64_t i = 0; i < cols; ++i) max_err = std::max(max_err, double(std::fabs(got[size_t(i)] - w[size_t(r * cols + i)])));
            }
            // Within half a quantization step of the original (|w| <= ~4.5 here).
            QVERIFY2(max_err < (q == DType::Q8 ? 0.03 : 0.45), qPrintable(QString::number(max_err)));
        }
    }

    void quantized_rows_data() { levels_data(); }

    // The fused dots (decode) against dequantize-then-dot (the same row dequantized, then `dot`):
    // F16 and BF16 give exactly its bits; Q8 and Q4 scale partial sums, so they agree within the
    // rounding bound of a float dot of that length (n * 2^-24 * sum |w x|, any summation order),
    // and with a one-hot input, where no rounding happens, exactly: each weight in its place.
    void fused_dots_equal_dequantize_then_dot() {
        QFETCH(QString, level);
        if (!cpu_runs_kernels(level.toStdString())) QSKIP(qPrintable("this CPU does not run the " + level + " kernels"));
        const CpuKernels& k = select_cpu_kernels(level.toStdString());
        auto fused = [&](const TensorView& t, int64_t r, const float* x) {
            const int64_t cols = t.shape[1];
            const uint8_t* p = static_cast<const uint8_t*>(t.data) + value_bytes(t.dtype, r, cols);
            if (t.dtype == DType::F16) return k.dot_f16(reinterpret_cast<const uint16_t*>(p), x, cols);
            if (t.dtype == DType::BF16) return k.dot_bf16(reinterpret_cast<const uint16_t*>(p), x, cols);
            if (t.dtype == DType::Q8) return k.dot_q8(reinterpret_cast<const int8_t*>(p), f16_to_f32(t.scales[r]), x, cols);
            std::vector<float> xq(static_cast<size_t>(q4_input_floats(cols)), std::nanf(""));   // the order writes every float
            k.q4_input_order(x, cols, xq.data());
            return k.dot_q4(p, t.scales + r * (cols / kQ4Group), xq.data(), cols);
        };
        for (int64_t cols : {int64_t(32), int64_t(64), int64_t(160), int64_t(2560), int64_t(2592), int64_t(10240)}) {
            const int64_t rows = 3;
            const std::vector<float> w = random_vector(size_t(rows * cols), 5), x = random_vector(size_t(cols), 6);
            const TensorView f32{"w", DType::F32, {rows, cols}, w.data(), nullptr};
            std::vector<float> row(static_cast<size_t>(cols)), one_hot(static_cast<size_t>(cols), 0.0f);
            for (DType d : {DType::F16, DType::BF16, DType::Q8, DType::Q4}) {
                const std::vector<uint8_t> payload = is_quantized(d) ? quantize(d, f32) : convert_float(d, f32);
                const size_t ns = scale_count(d, rows, cols);
                const TensorView t{"w", d, {rows, cols}, payload.data() + 2 * ns, reinterpret_cast<const uint16_t*>(payload.data())};
                for (int64_t r = 0; r < rows; ++r) {
                    row_to_f32(t, r, row.data());
                    const float want = k.dot(row.data(), x.data(), cols), got = fused(t, r, x.data());
                    const QString what = QString("%1 x %2: %3 vs %4").arg(dtype_name(d)).arg(cols).arg(got).arg(want);
                    if (!is_quantized(d)) {
                        QVERIFY2(got == want, qPrintable(what));
                        continue;
                    }
                    double exact = 0, magnitude = 0;
                    for (int64_t i = 0; i < cols; ++i)
                        exact += double(row[size_t(i)]) * x[size_t(i)], magnitude += std::fabs(double(row[size_t(i)]) * x[size_t(i)]);
                    const double bound = double(cols) * std::ldexp(1.0, -24) * magnitude;
                    QVERIFY2(std::fabs(got - exact) <= bound && std::fabs(want - exact) <= bound, qPrintable(what));
                    if (cols > 160 || r > 0) continue;   // one-hot: every position of the short rows
                    for (int64_t i = 0; i < cols; ++i) {
                        one_hot[size_t(i)] = 1.0f;
                        QVERIFY2(fused(t, r, one_hot.data()) == row[size_t(i)], qPrintable(what + QString(" at %1").arg(i)));
                        one_hot[size_t(i)] = 0.0f;
                    }
                }
            }
        }
    }

    void fused_dots_equal_dequantize_then_dot_data() { levels_data(); }

    // On data where no sum rounds (integer inputs, quantization levels times a power-of-two
    // scale) every fused dot must give the exact result, at every width and group count; and
    // F16 and BF16 rows of random values equal convert-then-dot bit for bit, also at widths
    // whose tails the scalar loop sums (every product rounded the same way in both).
    void half_dots_equal_converted_on_random_rows() {
        QFETCH(QString, level);
        if (!cpu_runs_kernels(level.toStdString())) QSKIP(qPrintable("this CPU does not run the " + level + " kernels"));
        const CpuKernels& k = select_cpu_kernels(level.toStdString());
        for (int64_t cols : {int64_t(20), int64_t(40), int64_t(100), int64_t(161), int64_t(2561)}) {
            const std::vector<float> x = random_vector(size_t(cols), 21), w = random_vector(size_t(cols), 22);
            std::vector<uint16_t> f16, bf16;
            std::vector<float> f16_row, bf16_row;
            for (float v : w) {
                f16.push_back(f32_to_f16(v)), f16_row.push_back(f16_to_f32(f16.back()));
                bf16.push_back(f32_to_bf16(v)), bf16_row.push_back(bf16_to_f32(bf16.back()));
            }
            const QString where = QString("width %1").arg(cols);   // QCOMPARE of floats is fuzzy: compare exactly
            QVERIFY2(k.dot_f16(f16.data(), x.data(), cols) == k.dot(f16_row.data(), x.data(), cols), qPrintable(where));
            QVERIFY2(k.dot_bf16(bf16.data(), x.data(), cols) == k.dot(bf16_row.data(), x.data(), cols), qPrintable(where));
        }
    }

    void half_dots_equal_converted_on_random_rows_data() { levels_data(); }

    // F16/BF16/Q8 rows of widths that leave 8- and 16-lane tails agree with convert-then-dot.
    void fused_dots_exact_on_integer_inputs() {
        QFETCH(QString, level);
        if (!cpu_runs_kernels(level.toStdString())) QSKIP(qPrintable("this CPU does not run the " + level + " kernels"));
        const CpuKernels& k = select_cpu_kernels(level.toStdString());
        std::mt19937 rng(11);
        std::uniform_int_distribution<int> small(-3, 3), q8(-127, 127), q4(-7, 7);
        for (int64_t cols : {32, 40, 64, 100, 161, 544, 2560, 2561, 2592, 10240}) {
            std::vector<float> x(static_cast<size_t>(cols)), w8(x.size()), w4(x.size()), row(x.size());
            for (float& v : x) v = float(small(rng));
            for (size_t i = 0; i < x.size(); ++i) w8[i] = std::ldexp(float(i == 0 ? 127 : q8(rng)), -7);
            for (size_t i = 0; i < x.size(); ++i)   // each group's scale 2^-4, 2^-5 or 2^-6: a wrong scale shows
                w4[i] = std::ldexp(float(i % 32 == 5 ? -7 : q4(rng)), -4 - int(i / 32 % 3));
            double exact8 = 0, exact4 = 0;
            for (size_t i = 0; i < x.size(); ++i) exact8 += double(w8[i]) * x[i], exact4 += double(w4[i]) * x[i];
            const TensorView t8{"w", DType::F32, {1, cols}, w8.data(), nullptr}, t4{"w", DType::F32, {1, cols}, w4.data(), nullptr};
            const std::vector<uint8_t> p8 = quantize(DType::Q8, t8);
            QCOMPARE(f16_to_f32(reinterpret_cast<const uint16_t*>(p8.data())[0]), std::ldexp(1.0f, -7));
            QCOMPARE(double(k.dot_q8(reinterpret_cast<const int8_t*>(p8.data() + 2), std::ldexp(1.0f, -7), x.data(), cols)), exact8);
            if (cols % kQ4Group == 0) {
                const std::vector<uint8_t> p4 = quantize(DType::Q4, t4);
                const size_t ns = scale_count(DType::Q4, 1, cols);
                std::vector<float> xq(static_cast<size_t>(q4_input_floats(cols)));
                k.q4_input_order(x.data(), cols, xq.data());
                QCOMPARE(double(k.dot_q4(p4.data() + 2 * ns, reinterpret_cast<const uint16_t*>(p4.data()), xq.data(), cols)), exact4);
            }
            for (DType d : {DType::F16, DType::BF16}) {   // tails: bit-equal to convert-then-dot
                const std::vector<uint8_t> p = convert_float(d, t8);
                const auto* w = reinterpret_cast<const uint16_t*>(p.data());
                for (size_t i = 0; i < row.size(); ++i) row[i] = d == DType::F16 ? f16_to_f32(w[i]) : bf16_to_f32(w[i]);
                const float got = d == DType::F16 ? k.dot_f16(w, x.data(), cols) : k.dot_bf16(w, x.data(), cols);
                QCOMPARE(got, k.dot(row.data(), x.data(), cols));
            }
        }
    }

    void fused_dots_exact_on_integer_inputs_data() { levels_data(); }

    // The prefill kernels: pack_panel transposes 16 rows exactly; gemm_16x6 accumulates every
    // product of the panel and 6 tokens (within float rounding of a double sum), and running the
    // inner dimension in two calls gives the bits of one call (k stays in order); over a panel of
    // halves gemm_16x6_f16 gives the bits of gemm_16x6 over the panel converted.
    void panel_gemm_matches_reference() {
        QFETCH(QString, level);
        if (!cpu_runs_kernels(level.toStdString())) QSKIP(qPrintable("this CPU does not run the " + level + " kernels"));
        const CpuKernels& k = select_cpu_kernels(level.toStdString());
        for (int64_t n : {int64_t(1), int64_t(13), int64_t(160), int64_t(2563)}) {
            const std::vector<float> w = random_vector(size_t(16 * n), 7), x = random_vector(size_t(6 * n), 8);
            const float* rows[16];
            for (int r = 0; r < 16; ++r) rows[r] = w.data() + r * n;
            std::vector<float> panel(static_cast<size_t>(16 * n));
            k.pack_panel(rows, n, panel.data());
            for (int64_t i = 0; i < n; ++i)
                for (int r = 0; r < 16; ++r) QCOMPARE(panel[size_t(i * 16 + r)], rows[r][i]);
            const float* xs[6];
            for (int t = 0; t < 6; ++t) xs[t] = x.data() + t * n;
            std::vector<float> one(96, 0.0f), split(96, 0.0f);
            float* acc_one[6];
            float* acc_split[6];
            for (int t = 0; t < 6; ++t) acc_one[t] = one.data() + 16 * t, acc_split[t] = split.data() + 16 * t;
            k.gemm_16x6(panel.data(), xs, n, acc_one);
            const int64_t cut = n / 2;
            const float* xs_rest[6];
            for (int t = 0; t < 6; ++t) xs_rest[t] = xs[t] + cut;
            k.gemm_16x6(panel.data(), xs, cut, acc_split);
            k.gemm_16x6(panel.data() + 16 * cut, xs_rest, n - cut, acc_split);
            QVERIFY(one == split);
            std::vector<uint16_t> halves(panel.size());   // an F16 panel: bit for bit as its conversion
            for (size_t i = 0; i < panel.size(); ++i) panel[i] = f16_to_f32(halves[i] = f32_to_f16(panel[i]));
            std::vector<float> converted(96, 0.0f), f16(96, 0.0f);
            float* acc_converted[6];
            float* acc_f16[6];
            for (int t = 0; t < 6; ++t) acc_converted[t] = converted.data() + 16 * t, acc_f16[t] = f16.data() + 16 * t;
            k.gemm_16x6(panel.data(), xs, n, acc_converted);
            k.gemm_16x6_f16(halves.data(), xs, cut, acc_f16);
            k.gemm_16x6_f16(halves.data() + 16 * cut, xs_rest, n - cut, acc_f16);
            QVERIFY(converted == f16);
            for (int t = 0; t < 6; ++t)
                for (int r = 0; r < 16; ++r) {
                    double exact = 0, magnitude = 0;
                    for (int64_t i = 0; i < n; ++i) exact += double(rows[r][i]) * xs[t][i], magnitude += std::fabs(double(rows[r][i]) * xs[t][i]);
                    QVERIFY2(std::fabs(one[size_t(16 * t + r)] - exact) <= 1e-6 * magnitude + 1e-7,
                             qPrintable(QString("n %1 t %2 r %3").arg(n).arg(t).arg(r)));
                }
        }
    }

    void panel_gemm_matches_reference_data() { levels_data(); }

    // Prefill packs 16 weight rows straight from their stored form: every weight of every dtype
    // must be exactly what the row conversions give (the products then equal the row-buffer
    // path's bit for bit), for rows in the middle of a weight, for a narrow last panel (rows 16-20
    // of 21, then the last row again) and for widths with a tail; F16 rows also pack as their
    // stored halves.
    void weight_panels_equal_row_conversions() {
        QFETCH(QString, level);
        if (!cpu_runs_kernels(level.toStdString())) QSKIP(qPrintable("this CPU does not run the " + level + " kernels"));
        const CpuKernels& k = select_cpu_kernels(level.toStdString());
        for (DType d : {DType::F32, DType::F16, DType::BF16, DType::Q8, DType::Q4})
            for (int64_t cols : {int64_t(13), int64_t(32), int64_t(45), int64_t(160), int64_t(2592)}) {
                if (d == DType::Q4 && cols % kQ4Group) continue;
                std::vector<uint8_t> bytes;
                const TensorView W = random_weight(d, 21, cols, 5, bytes);
                std::vector<float> panel(static_cast<size_t>(16 * cols)), row(static_cast<size_t>(cols));
                for (int64_t o0 : {int64_t(3), int64_t(16)}) {
                    if (d == DType::F16) {   // the halves as stored, the same rows
                        std::vector<uint16_t> halves(panel.size());
                        k.pack_f16_weights(W, o0, halves.data());
                        const auto* stored = static_cast<const uint16_t*>(W.data);
                        for (int r = 0; r < 16; ++r)
                            for (int64_t i = 0; i < cols; ++i)
                                QVERIFY2(halves[size_t(i * 16 + r)] == stored[std::min<int64_t>(o0 + r, 20) * cols + i],
                                         qPrintable(QString("F16 cols %1 rows from %2, row %3 col %4").arg(cols).arg(o0).arg(r).arg(i)));
                    }
                    k.pack_weights(W, o0, panel.data());
                    for (int r = 0; r < 16; ++r) {
                        const int64_t o = std::min<int64_t>(o0 + r, 20);
                        const float* expect = weight_row(k, W, o, row.data());
                        for (int64_t i = 0; i < cols; ++i) {
                            QVERIFY2(panel[size_t(i * 16 + r)] == expect[i],
                                     qPrintable(QString("%1 cols %2 rows from %3, row %4 col %5").arg(dtype_name(d)).arg(cols).arg(o0).arg(r).arg(i)));
                            QCOMPARE(weight_value(W, o, i), expect[i]);
                        }
                    }
                }
            }
    }

    void weight_panels_equal_row_conversions_data() { levels_data(); }

    // gelu_new (tanh form) within float rounding of the formula in double, across its range.
    void gelu_new_matches_formula() {
        QFETCH(QString, level);
        if (!cpu_runs_kernels(level.toStdString())) QSKIP(qPrintable("this CPU does not run the " + level + " kernels"));
        const CpuKernels& k = select_cpu_kernels(level.toStdString());
        std::vector<float> v;
        for (float x = -30.0f; x <= 30.0f; x += 0.0137f) v.push_back(x);
        v.push_back(0.0f);
        std::vector<float> y = v;
        k.gelu_new(y.data(), int64_t(y.size()));
        for (size_t i = 0; i < v.size(); ++i) {
            const double x = v[i], want = 0.5 * x * (1.0 + std::tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)));
            QVERIFY2(std::fabs(y[i] - want) <= 1e-6 * std::max(1.0, std::fabs(x)), qPrintable(QString("gelu_new(%1) = %2, want %3").arg(x).arg(y[i]).arg(want)));
        }
    }

    void gelu_new_matches_formula_data() { levels_data(); }

    // softmax(x * scale) against the formula in double, within float rounding of each probability, for
    // lengths around the vector width and scores spread far below the max (attention's masks
    // and long contexts), down to where the probabilities underflow.
    void softmax_matches_formula() {
        QFETCH(QString, level);
        if (!cpu_runs_kernels(level.toStdString())) QSKIP(qPrintable("this CPU does not run the " + level + " kernels"));
        const CpuKernels& k = select_cpu_kernels(level.toStdString());
        for (int64_t n : {int64_t(1), int64_t(7), int64_t(8), int64_t(100), int64_t(2049)})
            for (float spread : {1.0f, 30.0f, 3000.0f}) {
                std::vector<float> x = random_vector(size_t(n), uint32_t(n));
                for (float& v : x) v *= spread;
                std::vector<float> p = x;
                const float scale = 0.11180339f;   // 1/sqrt(80)
                k.softmax(p.data(), n, scale);
                double max = -INFINITY, sum = 0;
                for (float v : x) max = std::max(max, double(v * scale));
                for (float v : x) sum += std::exp(double(v * scale) - max);
                for (int64_t j = 0; j < n; ++j) {
                    const double want = std::exp(double(x[size_t(j)] * scale) - max) / sum;
                    QVERIFY2(std::fabs(p[size_t(j)] - want) <= (1e-6 + double(n) * 6e-8) * want + 1e-37,   // exp's and the sum's rounding
                             qPrintable(QString("n %1 spread %2 j %3: %4 vs %5").arg(n).arg(spread).arg(j).arg(p[size_t(j)]).arg(want)));
                }
            }
    }

    void softmax_matches_formula_data() { levels_data(); }

    // parallel_for hands out every item exactly once, in non-empty ranges, to threads that exist,
    // however the chunks shrink; with no more items than threads, item i runs on thread i.
    void thread_pool_runs_every_item_once() {
        for (int threads : {1, 2, 3}) {
            ThreadPool pool(threads);
            for (int64_t n : {1, 2, 3, 7, 100, 10007}) {
                std::vector<std::atomic<int>> runs(static_cast<size_t>(n));
                std::atomic<bool> bad_range{false}, bad_thread{false};
                pool.parallel_for(n, [&](int64_t begin, int64_t end, int thread) {
                    if (begin >= end || begin < 0 || end > n) bad_range = true;
                    if (thread < 0 || thread >= pool.size() || (n <= pool.size() && thread != begin)) bad_thread = true;
                    for (int64_t i = begin; i < end; ++i) runs[size_t(i)].fetch_add(1);
                });
                QVERIFY(!bad_range && !bad_thread);
                for (int64_t i = 0; i < n; ++i) QVERIFY2(runs[size_t(i)] == 1, qPrintable(QString("%1 threads, %2 items: item %3").arg(threads).arg(n).arg(i)));
            }
        }
    }

    // dot8 (decode of wide inputs) against the one-row dots: each of the eight rows bit-equal,
    // for every dtype, at widths with and without vector tails, from row 0 and from row 3.
    void eight_row_dots_equal_one_row_dots() {
        QFETCH(QString, level);
        if (!cpu_runs_kernels(level.toStdString())) QSKIP(qPrintable("this CPU does not run the " + level + " kernels"));
        const CpuKernels& k = select_cpu_kernels(level.toStdString());
        for (int64_t cols : {32, 40, 64, 161, 2560, 2592, 10240}) {
            const std::vector<float> x = random_vector(size_t(cols), 8);
            for (DType d : {DType::F32, DType::F16, DType::BF16, DType::Q8, DType::Q4}) {
                if (d == DType::Q4 && cols % kQ4Group) continue;
                std::vector<uint8_t> bytes;
                const TensorView t = random_weight(d, 11, cols, 7, bytes);
                std::vector<float> xq = x;
                if (d == DType::Q4) {
                    xq.resize(static_cast<size_t>(q4_input_floats(cols)));
                    k.q4_input_order(x.data(), cols, xq.data());
                }
                for (int64_t o : {0, 3}) {
                    float got[8];
                    k.dot8(t, o, xq.data(), got);
                    for (int r = 0; r < 8; ++r) {
                        const float want = dot_row(k, t, o + r, xq.data());
                        QVERIFY2(got[r] == want, qPrintable(QString("%1 x %2, row %3: %4 vs %5").arg(dtype_name(d)).arg(cols).arg(o + r).arg(got[r]).arg(want)));
                    }
                }
            }
        }
    }

    void eight_row_dots_equal_one_row_dots_data() { levels_data(); }

    // The Q4 dots read no byte past a weight's end, nor scale past its scales, though the AVX-512
    // ones load 128 weights at a time: the weight's bytes and scales are copied to end right at an
    // unreadable page, and the last row alone, and the last eight, give what they give elsewhere.
    void q4_dots_stop_at_the_weight_end() {
        QFETCH(QString, level);
        if (!cpu_runs_kernels(level.toStdString())) QSKIP(qPrintable("this CPU does not run the " + level + " kernels"));
        const CpuKernels& k = select_cpu_kernels(level.toStdString());
        const size_t page = size_t(sysconf(_SC_PAGESIZE));
        for (int64_t cols : {32, 64, 96, 160, 2592}) {   // last blocks of 1, 2, 3, 1, 1 groups
            std::vector<uint8_t> bytes;
            const TensorView W = random_weight(DType::Q4, 8, cols, 12, bytes);
            const size_t values = value_bytes(DType::Q4, 8, cols), scales = 2 * scale_count(DType::Q4, 8, cols);
            // Two regions, each followed by a PROT_NONE page: values, then scales, flush to their end.
            const size_t span = (std::max(values, scales) + page - 1) / page * page;
            void* m = mmap(nullptr, 2 * (span + page), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            QVERIFY(m != MAP_FAILED);
            auto* base = static_cast<uint8_t*>(m);
            QCOMPARE(mprotect(base + span, page, PROT_NONE), 0);
            QCOMPARE(mprotect(base + 2 * span + page, page, PROT_NONE), 0);
            uint8_t* v = base + span - values;
            uint8_t* sc = base + 2 * span + page - scales;
            std::copy_n(static_cast<const uint8_t*>(W.data), values, v);
            std::copy_n(reinterpret_cast<const uint8_t*>(W.scales), scales, sc);
            const TensorView edge{"w", DType::Q4, {8, cols}, v, reinterpret_cast<const uint16_t*>(sc)};
            const std::vector<float> x = random_vector(size_t(cols), 13);
            std::vector<float> xq(static_cast<size_t>(q4_input_floats(cols)));
            k.q4_input_order(x.data(), cols, xq.data());
            float got[8], want[8];
            k.dot8(edge, 0, xq.data(), got);
            k.dot8(W, 0, xq.data(), want);
            const float last = dot_row(k, edge, 7, xq.data());
            munmap(m, 2 * (span + page));
            for (int r = 0; r < 8; ++r) QCOMPARE(got[r], want[r]);
            QCOMPARE(last, want[7]);
        }
    }

    void q4_dots_stop_at_the_weight_end_data() { levels_data(); }

    // linear() for a decode step with an input wide enough for the eight-row dots (4160 > 4096):
    // 21 rows (two groups of eight, then single rows) and two tokens, each output exactly its
    // one-row dot plus the bias.
    void decode_of_a_wide_input_equals_row_dots() {
        QFETCH(QString, level);
        if (!cpu_runs_kernels(level.toStdString())) QSKIP(qPrintable("this CPU does not run the " + level + " kernels"));
        const CpuKernels& k = select_cpu_kernels(level.toStdString());
        const int64_t out = 21, in = 4160, n = 2;
        ThreadPool pool(2);
        ScratchBuffers scratch(2, in, 0, 0, DType::F32);
        std::vector<float> q4_input(size_t(kMaxDecodeTokens * q4_input_floats(in)));
        CpuContext cx{pool, k, scratch.data(), q4_input.data()};
        const std::vector<float> x = random_vector(size_t(n * in), 9), bias = random_vector(size_t(out), 10);
        for (DType d : {DType::F16, DType::BF16, DType::Q8, DType::Q4}) {
            std::vector<uint8_t> bytes;
            const TensorView W = random_weight(d, out, in, 11, bytes);
            std::vector<float> y(size_t(n * out)), xq(static_cast<size_t>(q4_input_floats(in)));
            linear(cx, W, bias.data(), x.data(), n, y.data());
            for (int64_t t = 0; t < n; ++t) {
                const float* xt = x.data() + t * in;
                if (d == DType::Q4) {
                    k.q4_input_order(xt, in, xq.data());
                    xt = xq.data();
                }
                for (int64_t o = 0; o < out; ++o) {
                    const float want = dot_row(k, W, o, xt) + bias[size_t(o)];
                    QVERIFY2(y[size_t(t * out + o)] == want, qPrintable(QString("%1, token %2, row %3").arg(dtype_name(d)).arg(t).arg(o)));
                }
            }
        }
    }

    void decode_of_a_wide_input_equals_row_dots_data() { levels_data(); }

    // linear() over a prompt's tokens on F16 weights, whose panels keep the stored halves, against
    // the same weights stored as F32 (float32 panels): bit for bit, for 21 rows (a full panel,
    // then a narrow one through the tile), 7 tokens (a full tile and a short one) and a width
    // with a tail of 5; and both within float rounding of a double reference.
    void f16_prompt_linear_equals_f32() {
        QFETCH(QString, level);
        if (!cpu_runs_kernels(level.toStdString())) QSKIP(qPrintable("this CPU does not run the " + level + " kernels"));
        const CpuKernels& k = select_cpu_kernels(level.toStdString());
        const int64_t out = 21, in = 165, n = 7;
        ThreadPool pool(2);
        ScratchBuffers scratch(2, in, 0, 0, DType::F32);
        CpuContext cx{pool, k, scratch.data(), nullptr};
        std::vector<uint8_t> bytes;
        const TensorView w16 = random_weight(DType::F16, out, in, 15, bytes);
        std::vector<float> w(size_t(out * in));
        for (size_t i = 0; i < w.size(); ++i) w[i] = f16_to_f32(static_cast<const uint16_t*>(w16.data)[i]);
        const TensorView w32{"w", DType::F32, {out, in}, w.data(), nullptr};
        const std::vector<float> x = random_vector(size_t(n * in), 16), bias = random_vector(size_t(out), 17);
        std::vector<float> y16(size_t(n * out)), y32(y16.size());
        linear(cx, w16, bias.data(), x.data(), n, y16.data());
        linear(cx, w32, bias.data(), x.data(), n, y32.data());
        QVERIFY(y16 == y32);
        for (int64_t t = 0; t < n; ++t)
            for (int64_t o = 0; o < out; ++o) {
                double exact = bias[size_t(o)], magnitude = std::fabs(exact);
                for (int64_t i = 0; i < in; ++i) {
                    const double p = double(w[size_t(o * in + i)]) * x[size_t(t * in + i)];
                    exact += p, magnitude += std::fabs(p);
                }
                QVERIFY2(std::fabs(y16[size_t(t * out + o)] - exact) <= double(in + 1) * std::ldexp(1.0, -24) * magnitude,
                         qPrintable(QString("token %1, row %2").arg(t).arg(o)));
            }
    }

    void f16_prompt_linear_equals_f32_data() { levels_data(); }

    // attention() over a prompt (16-key panels against 6 queries at a time) against the same
    // queries one at a time (the decode path): a head size that is not a multiple of 16, two
    // query heads per key/value head, 13 queries (two full tiles and one short) after 5 cached
    // positions. The two sum q.k in different orders, so they agree within float rounding.
    void prompt_attention_equals_one_query_at_a_time() {
        QFETCH(QString, level);
        if (!cpu_runs_kernels(level.toStdString())) QSKIP(qPrintable("this CPU does not run the " + level + " kernels"));
        const CpuKernels& k = select_cpu_kernels(level.toStdString());
        const int64_t n = 13, pos0 = 5, positions = pos0 + n, q_width = 4 * 20, kv_width = 2 * 20;
        QFETCH(bool, head_major);   // the cache's layout: [kv head][position][dim], or [position][kv head][dim]
        QFETCH(bool, f16);          // the cache's elements: float16 (the same values as float32 here)
        const DType type = f16 ? DType::F16 : DType::F32;
        const AttentionShape shape = head_major ? AttentionShape{4, 2, 20, positions * 20, 20, type}
                                                : AttentionShape{4, 2, 20, 20, kv_width, type};
        ThreadPool pool(2);
        ScratchBuffers scratch(2, 0, positions, shape.head_dim, type);
        CpuContext cx{pool, k, scratch.data(), nullptr};
        const std::vector<float> q = random_vector(size_t(n * q_width), 12);
        const Halves keys = random_halves(size_t(positions * kv_width), 13), values = random_halves(size_t(positions * kv_width), 14);
        const void* k_cache = f16 ? static_cast<const void*>(keys.halves.data()) : keys.floats.data();
        const void* v_cache = f16 ? static_cast<const void*>(values.halves.data()) : values.floats.data();
        std::vector<float> prompt(q.size()), single(q.size());
        attention(cx, shape, q.data(), k_cache, v_cache, n, int(pos0), prompt.data());
        for (int64_t t = 0; t < n; ++t)
            attention(cx, shape, q.data() + t * q_width, k_cache, v_cache, 1, int(pos0 + t), single.data() + t * q_width);
        for (size_t i = 0; i < q.size(); ++i)
            QVERIFY2(std::fabs(prompt[i] - single[i]) <= 1e-5f, qPrintable(QString("element %1: %2 vs %3").arg(i).arg(prompt[i]).arg(single[i])));
        if (!f16) return;
        // Either path from the float16 cache equals its path from the converted float32 cache.
        AttentionShape shape32 = shape;
        shape32.kv_type = DType::F32;
        std::vector<float> prompt32(q.size()), single32(q.size());
        attention(cx, shape32, q.data(), keys.floats.data(), values.floats.data(), n, int(pos0), prompt32.data());
        for (int64_t t = 0; t < n; ++t)
            attention(cx, shape32, q.data() + t * q_width, keys.floats.data(), values.floats.data(), 1, int(pos0 + t),
                      single32.data() + t * q_width);
        QVERIFY(prompt == prompt32);
        QVERIFY(single == single32);
    }

    void prompt_attention_equals_one_query_at_a_time_data() {
        QTest::addColumn<QString>("level");
        QTest::addColumn<bool>("head_major");
        QTest::addColumn<bool>("f16");
        for (const char* level : {"portable", "avx2", "avx512"})
            for (bool f16 : {false, true}) {
                const char* type = f16 ? "float16" : "float32";
                QTest::addRow("%s, head-major %s cache", level, type) << QString(level) << true << f16;
                QTest::addRow("%s, position-major %s cache", level, type) << QString(level) << false << f16;
            }
    }

    // The dot benchmark (bench-dot, and bench's decode bound) builds a matrix of each dtype and
    // views its bytes itself: a wrong view would read past them, which the sanitizer run catches.
    void dot_rate_measures_every_dtype() {
        for (DType d : {DType::F32, DType::F16, DType::BF16, DType::Q8, DType::Q4}) {
            const double gbs = measure_dot_rate(1, d, 1);
            QVERIFY2(std::isfinite(gbs) && gbs > 0.0, dtype_name(d));
        }
    }

    void unknown_level_is_an_error() {
        QVERIFY_THROWS_EXCEPTION(Error, select_cpu_kernels("sse9"));
    }
};

QTEST_GUILESS_MAIN(TestCpuKernels)
#include "tst_cpu_kernels.moc"
