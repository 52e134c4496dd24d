// The tokenizer against the reference phi-2 encodings: every case's ids and decoded text,
// streaming equals one-shot decoding, both file layouts agree, malformed files are errors.
#include "phidesk/error.h"
#include "phidesk/tokenizer.h"
#include "test_support.h"
#include "utf8.h"

using namespace phidesk;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

fs::path tokenizer_dir() { return test::reference_dir() / "tokenizer"; }

std::vector<json> read_jsonl(const fs::path& p) {
    std::ifstream in(p);
    std::vector<json> out;
    for (std::string line; std::getline(in, line);)
        if (!line.empty()) out.push_back(json::parse(line));
    return out;
}

// The case's input bytes: the raw (possibly invalid) bytes when given, else the text.
std::string input_of(const json& c) {
    if (c.contains("input_bytes_b64"))
        return QByteArray::fromBase64(QByteArray::fromStdString(c["input_bytes_b64"].get<std::string>())).toStdString();
    return c["text"].get<std::string>();
}

std::string stream_decode(const Tokenizer& t, const std::vector<int32_t>& ids, bool skip) {
    StreamDecoder s(t, skip);
    std::string out;
    for (int32_t id : ids) {
        const std::string piece = s.push(id);
        // Only whole characters come out: every piece is valid UTF-8 on its own.
        if (utf8_lossy(piece) != piece) return "<split char>";
        out += piece;
    }
    return out + s.finish();
}

}  // namespace

class TestTokenizer : public QObject {
    Q_OBJECT
    std::unique_ptr<Tokenizer> json_, files_;
    std::vector<json> cases_, decode_cases_;
    QTemporaryDir tmp_;

    template <class Fn>
    void expect_error(Fn&& fn, const std::string& needle) {
        try {
            fn();
        } catch (const Error& e) {
            QVERIFY2(std::string(e.what()).find(needle) != std::string::npos, e.what());
            return;
        }
        QFAIL(qPrintable(QString::fromStdString("no error, expected one about: " + needle)));
    }
    fs::path write(const std::string& name, const std::string& content) {
        const fs::path p = fs::path(tmp_.path().toStdString()) / name;
        fs::create_directories(p.parent_path());
        std::ofstream(p, std::ios::binary) << content;
        return p;
    }

private slots:
    void initTestCase() {
        json_ = std::make_unique<Tokenizer>(Tokenizer::load(tokenizer_dir() / "tokenizer.json"));
        // A folder holding only the vocab.json + merges.txt set (no tokenizer.json).
        const fs::path trio = fs::path(tmp_.path().toStdString()) / "trio";
        fs::create_directories(trio);
        for (const char* f : {"vocab.json", "merges.txt", "added_tokens.json", "special_tokens_map.json"})
            test::copy_file(tokenizer_dir() / f, trio / f);
        files_ = std::make_unique<Tokenizer>(Tokenizer::load(trio));
        cases_ = read_jsonl(tokenizer_dir() / "cases.jsonl");
        decode_cases_ = read_jsonl(tokenizer_dir() / "decode_cases.jsonl");
        QCOMPARE(int(cases_.size()), 385);
        QCOMPARE(int(decode_cases_.size()), 16);
    }

    void tables() {
        QCOMPARE(json_->size(), 50295);
        QCOMPARE(json_->eos_id(), 50256);
        QVERIFY(json_->is_special(50256));
        QVERIFY(!json_->is_special(50257));
        QCOMPARE(json_->token_bytes(50286), std::string("  "));
        QCOMPARE(json_->token_bytes(220), std::string(" "));
        QVERIFY(!json_->has_token(50295));
        QCOMPARE(files_->size(), json_->size());
        QCOMPARE(files_->eos_id(), 50256);
        QVERIFY(files_->is_special(50256));
    }

    void encode_cases() {
        int checked = 0;
        for (const json& c : cases_) {
            const auto want = c["ids"].get<std::vector<int32_t>>();
            const std::string input = input_of(c);
            QVERIFY2(json_->encode(input) == want, c["name"].get<std::string>().c_str());
            QVERIFY2(files_->encode(input) == want, c["name"].get<std::string>().c_str());
            ++checked;
        }
        QCOMPARE(checked, 385);
    }

    void decode_cases() {
        for (const json& c : cases_) {
            const auto ids = c["ids"].get<std::vector<int32_t>>();
            const std::string want = c["decoded"].get<std::string>(), name = c["name"].get<std::string>();
            QVERIFY2(json_->decode(ids) == want, name.c_str());
            QVERIFY2(stream_decode(*json_, ids, false) == want, name.c_str());
            if (c["roundtrip"].get<bool>()) {
                const std::string text = c["text"].get<std::string>();
                QVERIFY2(json_->decode(json_->encode(text)) == text, name.c_str());
            }
        }
        for (const json& c : decode_cases_) {
            const auto ids = c["ids"].get<std::vector<int32_t>>();
            const std::string name = c["name"].get<std::string>();
            QVERIFY2(json_->decode(ids) == c["decoded"].get<std::string>(), name.c_str());
            QVERIFY2(json_->decode(ids, true) == c["decoded_skip_special"].get<std::string>(), name.c_str());
            QVERIFY2(stream_decode(*json_, ids, false) == c["decoded"].get<std::string>(), name.c_str());
            QVERIFY2(stream_decode(*json_, ids, true) == c["decoded_skip_special"].get<std::string>(), name.c_str());
        }
    }

    void padding_ids_are_reported() {
        int unknown = 0;
        const std::vector<int32_t> ids = {15496, 50295, 51199, 2159, -3};
        QCOMPARE(json_->decode(ids, false, &unknown), std::string("Hello World"));
        QCOMPARE(unknown, 3);
    }

    void streaming_holds_split_characters() {
        const auto ids = json_->encode("\xF0\x9F\x98\x80");   // U+1F600, several byte-level tokens
        QVERIFY(ids.size() > 1);
        StreamDecoder s(*json_);
        std::string out;
        for (size_t i = 0; i + 1 < ids.size(); ++i) out += s.push(ids[i]);
        QCOMPARE(out, std::string());   // nothing until the character is complete
        out += s.push(ids.back());
        QCOMPARE(out, std::string("\xF0\x9F\x98\x80"));
        // An unfinished character at the end becomes one U+FFFD.
        StreamDecoder cut(*json_);
        QCOMPARE(cut.push(ids[0]), std::string());
        QCOMPARE(cut.finish(), std::string("\xEF\xBF\xBD"));
    }

    void special_text_modes() {
        const std::string text = "a<|endoftext|>b";
        QCOMPARE(json_->encode(text), (std::vector<int32_t>{64, 50256, 65}));
        const auto plain = json_->encode(text, SpecialText::AsText);
        QVERIFY(std::find(plain.begin(), plain.end(), 50256) == plain.end());
        QCOMPARE(json_->decode(plain), text);
        // Whitespace added tokens still apply in AsText mode (they are not special).
        QCOMPARE(json_->encode("a  b", SpecialText::AsText), (std::vector<int32_t>{64, 50286, 65}));
    }

    void malformed_files() {
        expect_error([&] { Tokenizer::from_json_text("{", "t.json"); }, "invalid JSON");
        expect_error([&] { Tokenizer::from_json_text("{}", "t.json"); }, "malformed");
        const json good = json::parse(std::ifstream(tokenizer_dir() / "tokenizer.json"));
        json j = good;
        j["model"]["merges"].push_back("Ġ notatoken");
        expect_error([&] { Tokenizer::from_json_text(j.dump(), "t.json"); }, "not in the vocabulary");
        j = good;
        j["model"]["merges"] = json::array();
        expect_error([&] { Tokenizer::from_json_text(j.dump(), "t.json"); }, "no merges");
        j = good;
        j["model"]["vocab"]["zzzzqq"] = 5;   // id 5 already belongs to another token
        expect_error([&] { Tokenizer::from_json_text(j.dump(), "t.json"); }, "used twice");
        j = good;
        j["model"]["vocab"]["zzzzqq"] = 1 << 30;
        expect_error([&] { Tokenizer::from_json_text(j.dump(), "t.json"); }, "out of range");
        j = good;
        j["added_tokens"].push_back({{"id", 64}, {"content", "<|x|>"}, {"special", true}});
        expect_error([&] { Tokenizer::from_json_text(j.dump(), "t.json"); }, "used twice");
        j = good;
        j["model"]["vocab"].erase("!");
        expect_error([&] { Tokenizer::from_json_text(j.dump(), "t.json"); }, "byte 33");
        j = good;
        j["pre_tokenizer"] = {{"type", "Whitespace"}};
        expect_error([&] { Tokenizer::from_json_text(j.dump(), "t.json"); }, "byte-level");
        j = good;
        j["model"]["merges"][0] = "Ġt";
        expect_error([&] { Tokenizer::from_json_text(j.dump(), "t.json"); }, "two tokens");

        const fs::path bad = write("bad/vocab.json", R"({"a": 0})");
        write("bad/merges.txt", "#version: 0.2\na b c\n");
        expect_error([&] { Tokenizer::load(bad.parent_path()); }, "merges.txt:2");
        expect_error([&] { Tokenizer::load(fs::path(tmp_.path().toStdString()) / "nothing"); }, "no tokenizer.json");
    }
};

QTEST_GUILESS_MAIN(TestTokenizer)
#include "tst_tokenizer.moc"
