// Model config: both namings give the same numbers; every impossible value names its field.
#include "phidesk/config.h"
#include "phidesk/error.h"
#include "test_support.h"

using namespace phidesk;
using nlohmann::json;

class TestConfig : public QObject {
    Q_OBJECT

    static json hf() {
        return json::parse(R"({"model_type":"phi","vocab_size":51200,"hidden_size":2560,"num_hidden_layers":32,
            "num_attention_heads":32,"num_key_value_heads":32,"intermediate_size":10240,
            "max_position_embeddings":2048,"partial_rotary_factor":0.4,"rope_theta":10000.0,
            "layer_norm_eps":1e-05,"hidden_act":"gelu_new","qk_layernorm":false,"rope_scaling":null})");
    }
    static void expect_error(const json& j, const char* field) {
        try {
            parse_config(j, "config.json");
            QFAIL(qPrintable(QString("accepted a config with a bad '%1'").arg(field)));
        } catch (const Error& e) {
            QVERIFY2(std::string(e.what()).find(std::string("'") + field + "'") != std::string::npos, e.what());
        }
    }

private slots:
    void phi2_shapes() {
        const ModelConfig c = parse_config(hf(), "config.json");
        QCOMPARE(c.head_dim, 80);
        QCOMPARE(c.rotary_dim, 32);   // int(80 * 0.4)
        QCOMPARE(c.intermediate_size, 10240);
        QCOMPARE(c.num_kv_heads, 32);
        QCOMPARE(c.max_positions, 2048);
    }

    void defaults() {
        json j = hf();
        j.erase("num_key_value_heads");
        j.erase("partial_rotary_factor");
        const ModelConfig c = parse_config(j, "config.json");
        QCOMPARE(c.num_kv_heads, 32);
        QCOMPARE(c.rotary_dim, 40);   // PhiConfig's default factor 0.5
    }

    void legacy_equals_hf_reference() {
        const ModelConfig a = load_config(test::model_dir("tiny-phi2") / "config.json");
        const ModelConfig b = load_config(test::model_dir("tiny-phi2-legacy") / "config.json");
        QCOMPARE(b.model_type, std::string("phi-msft"));
        QCOMPARE(a.hidden_size, b.hidden_size);
        QCOMPARE(a.num_layers, b.num_layers);
        QCOMPARE(a.num_heads, b.num_heads);
        QCOMPARE(a.num_kv_heads, b.num_kv_heads);      // n_head_kv: null -> n_head
        QCOMPARE(a.intermediate_size, b.intermediate_size);  // n_inner: null -> 4 * n_embd
        QCOMPARE(a.rotary_dim, b.rotary_dim);
        QCOMPARE(a.max_positions, b.max_positions);
        QCOMPARE(a.vocab_size, b.vocab_size);
        QCOMPARE(a.layer_norm_eps, b.layer_norm_eps);
        QCOMPARE(a.intermediate_size, 640);
    }

    void bad_values_name_the_field() {
        json j = hf();
        j.erase("hidden_size");
        expect_error(j, "hidden_size");
        j = hf(); j["hidden_size"] = 2561;  expect_error(j, "hidden_size");
        j = hf(); j["hidden_size"] = "2560";  expect_error(j, "hidden_size");
        j = hf(); j["num_hidden_layers"] = 0;  expect_error(j, "num_hidden_layers");
        j = hf(); j["vocab_size"] = -5;  expect_error(j, "vocab_size");
        j = hf(); j["num_key_value_heads"] = 5;  expect_error(j, "num_key_value_heads");
        j = hf(); j["partial_rotary_factor"] = 1.5;  expect_error(j, "partial_rotary_factor");
        j = hf(); j["partial_rotary_factor"] = 0.0125;  expect_error(j, "partial_rotary_factor");  // rotary_dim 1: odd
        j = hf(); j["hidden_act"] = "relu";  expect_error(j, "hidden_act");
        j = hf(); j["qk_layernorm"] = true;  expect_error(j, "qk_layernorm");
        j = hf(); j["model_type"] = "llama";  expect_error(j, "model_type");
        j = hf(); j["layer_norm_eps"] = -1;  expect_error(j, "layer_norm_eps");
    }

    void legacy_bad_values() {
        json j = json::parse(R"({"model_type":"phi-msft","vocab_size":51200,"n_embd":160,"n_layer":2,"n_head":2,
            "n_head_kv":null,"n_inner":null,"n_positions":2048,"rotary_dim":32,"layer_norm_epsilon":1e-5})");
        QCOMPARE(parse_config(j, "c").intermediate_size, 640);
        j["rotary_dim"] = 81;
        expect_error(j, "rotary_dim");
        j["rotary_dim"] = 32;
        j.erase("n_positions");
        expect_error(j, "n_positions");
    }

    void invalid_json_file() {
        QTemporaryDir dir;
        const auto path = std::filesystem::path(dir.path().toStdString()) / "config.json";
        std::ofstream(path) << "{\"model_type\": \"phi\", ";
        try {
            load_config(path);
            QFAIL("accepted truncated JSON");
        } catch (const Error& e) {
            QVERIFY2(std::string(e.what()).find("invalid JSON") != std::string::npos, e.what());
            QVERIFY2(std::string(e.what()).find("config.json") != std::string::npos, e.what());
        }
    }
};

QTEST_GUILESS_MAIN(TestConfig)
#include "tst_config.moc"
