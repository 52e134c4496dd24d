// Model downloads end to end against a local hub (tests/hub_server.h): file list, redirects,
// resume after a dropped connection and after a cancelled run, SHA-256 checks, unsafe names.
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include <fstream>

#include "hub/sha256.h"
#include "hub_server.h"
#include "phidesk/hub.h"
#include "phidesk/model.h"
#include "phidesk/phz.h"
#include "test_support.h"

using namespace phidesk;
namespace fs = std::filesystem;

namespace {

const QString kRepo = QStringLiteral("test/phi-demo");

fs::path demo_dir() { return test::reference_dir() / "demo" / "phi-demo"; }

std::string file_text(const fs::path& p) {
    std::ifstream f(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(f), {}};
}

int count_requests(const QStringList& log, const QString& needle) {
    int n = 0;
    for (const QString& l : log) n += l.contains(needle) ? 1 : 0;
    return n;
}

}  // namespace

class TestDownload : public QObject {
    Q_OBJECT

    HubOptions options(const test::HubServer& s) {
        HubOptions o;
        o.base_url = s.base_url().toStdString();
        o.stall_seconds = 10;
        return o;
    }

    void expect_identical_to_demo(const fs::path& out, const std::vector<HubFile>& files) {
        for (const HubFile& f : files) {
            QVERIFY2(fs::exists(out / f.path), f.path.c_str());
            QVERIFY2(file_text(out / f.path) == file_text(demo_dir() / f.path), f.path.c_str());
            QVERIFY2(!fs::exists(fs::path(out / f.path) += ".partial"), f.path.c_str());
        }
    }

private slots:
    void sha256_known_answers() {
        Sha256 empty;
        QCOMPARE(empty.hex_digest(), std::string("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
        Sha256 abc;
        abc.update("abc", 3);
        QCOMPARE(abc.hex_digest(), std::string("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
        Sha256 two_blocks;   // 56 bytes: the padding spills into a second block
        const char* m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
        two_blocks.update(m, std::strlen(m));
        QCOMPARE(two_blocks.hex_digest(), std::string("248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"));
        Sha256 million;      // in uneven pieces
        const std::string a(1001, 'a');
        for (int i = 0; i < 1000; ++i) million.update(a.data(), i % 2 ? 999 : 1001);
        QCOMPARE(million.hex_digest(), std::string("cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"));
    }

    void lists_the_model_files_with_their_digests() {
        test::HubServer hub(kRepo, demo_dir());
        const std::vector<HubFile> all = hub_list_files(kRepo.toStdString(), options(hub));
        const std::vector<HubFile> files = model_files(kRepo.toStdString(), all);
        QCOMPARE(files.size(), size_t(9));   // every file of the demo folder is one PhiDesk uses
        for (const HubFile& f : files) {
            QCOMPARE(f.size, uint64_t(fs::file_size(demo_dir() / f.path)));
            if (f.path == "model.safetensors") QCOMPARE(f.sha256, sha256_file(demo_dir() / f.path));
        }
        QVERIFY_THROWS_EXCEPTION(Error, model_files("x/y", {{"config.json", 10, ""}, {"pytorch_model.bin", 99, "ab"}}));
    }

    // A connection that breaks mid-file is resumed at once with a Range request.
    void resumes_a_dropped_connection_then_converts() {
        test::HubServer hub(kRepo, demo_dir());
        hub.drop_after(QStringLiteral("model.safetensors"), 3'000'000);
        QTemporaryDir tmp;
        const fs::path out = fs::path(tmp.path().toStdString()) / "phi-demo";
        const auto files = model_files(kRepo.toStdString(), hub_list_files(kRepo.toStdString(), options(hub)));
        uint64_t last_done = 0, total = 0;
        bool monotone = true;
        hub_download(kRepo.toStdString(), files, out, options(hub), [&](const DownloadProgress& p) {
            monotone = monotone && p.done >= last_done;
            last_done = p.done, total = p.total;
            return true;
        });
        QVERIFY(monotone);
        QCOMPARE(last_done, total);
        expect_identical_to_demo(out, files);
        const QStringList log = hub.requests();
        // What arrived before the break (up to the 3 MB sent) is kept; one Range request fetches the rest.
        QVERIFY2(count_requests(log, QStringLiteral("/cdn/model.safetensors Range: bytes=")) == 1, qPrintable(log.join('\n')));

        const fs::path phz = fs::path(tmp.path().toStdString()) / "phi-demo.phz";
        convert_to_phz(out, phz, {});
        const auto model = Model::load(phz);
        QCOMPARE(model->config().hidden_size, 128);
    }

    // A cancelled run keeps its .partial file; the next run asks only for the rest.
    void a_cancelled_download_resumes_in_the_next_run() {
        test::HubServer hub(kRepo, demo_dir());
        hub.slow_down(QStringLiteral("model.safetensors"));
        QTemporaryDir tmp;
        const fs::path out = tmp.path().toStdString();
        const auto files = model_files(kRepo.toStdString(), hub_list_files(kRepo.toStdString(), options(hub)));
        QVERIFY_THROWS_EXCEPTION(DownloadCancelled, hub_download(kRepo.toStdString(), files, out, options(hub), [](const DownloadProgress& p) {
            return !(p.file == "model.safetensors" && p.done > 8'000'000);
        }));
        const fs::path part = out / "model.safetensors.partial";
        QVERIFY(fs::exists(part));
        const uint64_t kept = fs::file_size(part);
        QVERIFY(kept > 0 && kept < fs::file_size(demo_dir() / "model.safetensors"));

        hub_download(kRepo.toStdString(), files, out, options(hub), {});
        expect_identical_to_demo(out, files);
        const QStringList log = hub.requests();
        QVERIFY2(count_requests(log, QStringLiteral("/cdn/model.safetensors Range: bytes=%1-").arg(kept)) == 1, qPrintable(log.join('\n')));
        // Complete, checked files are not fetched again.
        QCOMPARE(count_requests(log, QStringLiteral("/cdn/config.json")), 1);
    }

    // A file whose bytes do not match the hub's SHA-256 is rejected and deleted.
    void a_corrupted_file_is_rejected() {
        test::HubServer hub(kRepo, demo_dir());
        hub.corrupt(QStringLiteral("model.safetensors"));
        QTemporaryDir tmp;
        const fs::path out = tmp.path().toStdString();
        const auto files = model_files(kRepo.toStdString(), hub_list_files(kRepo.toStdString(), options(hub)));
        try {
            hub_download(kRepo.toStdString(), files, out, options(hub), {});
            QFAIL("a corrupted download was accepted");
        } catch (const Error& e) {
            const QString m = QString::fromUtf8(e.what());
            QVERIFY2(m.contains("model.safetensors") && m.contains("SHA-256"), e.what());
        }
        QVERIFY(!fs::exists(out / "model.safetensors"));
        QVERIFY(!fs::exists(out / "model.safetensors.partial"));
    }

    // The headless tool does the same: download, convert to .phz, delete the originals.
    void cli_downloads_and_converts() {
        test::HubServer hub(kRepo, demo_dir());
        QTemporaryDir tmp;
        const QString out = tmp.path() + "/phi-demo", phz = tmp.path() + "/phi-demo.phz";
        QProcess cli;
        cli.start(QStringLiteral(PHIDESK_CLI), {"download", "--repo", kRepo, "--out", out, "--hub", hub.base_url(),
                                                "--convert", phz, "--delete-originals"});
        QVERIFY(cli.waitForFinished(120000));
        QVERIFY2(cli.exitCode() == 0, cli.readAllStandardError().constData());
        const QString said = QString::fromUtf8(cli.readAllStandardOutput());
        QVERIFY2(said.contains("downloaded") && said.contains("wrote"), qPrintable(said));
        QVERIFY(!fs::exists(fs::path(out.toStdString()) / "model.safetensors"));
        QCOMPARE(Model::load(phz.toStdString())->config().num_layers, 4);
    }

    // A hub whose bytes do not match its own listing gives an error at once (no endless retries),
    // and an empty file in the listing is simply created.
    void sizes_that_disagree_with_the_listing_are_errors() {
        for (const qint64 delta : {qint64(+1000), qint64(-1000)}) {
            test::HubServer hub(kRepo, demo_dir());
            hub.misstate_size(QStringLiteral("vocab.json"), delta);
            QTemporaryDir tmp;
            const fs::path out = tmp.path().toStdString();
            const auto files = model_files(kRepo.toStdString(), hub_list_files(kRepo.toStdString(), options(hub)));
            try {
                hub_download(kRepo.toStdString(), files, out, options(hub), {});
                QFAIL("a size that disagrees with the listing was accepted");
            } catch (const Error& e) {
                QVERIFY2(QString::fromUtf8(e.what()).contains("vocab.json"), e.what());
            }
            QVERIFY(!fs::exists(out / "vocab.json"));
            QVERIFY(count_requests(hub.requests(), QStringLiteral("/cdn/vocab.json")) <= 2);
        }
        test::HubServer hub(kRepo, demo_dir());
        hub.list_extra(QJsonObject{{"type", "file"}, {"path", "empty.json"}, {"size", 0}});
        QTemporaryDir tmp;
        const fs::path out = tmp.path().toStdString();
        hub_download(kRepo.toStdString(), model_files(kRepo.toStdString(), hub_list_files(kRepo.toStdString(), options(hub))),
                     out, options(hub), {});
        QVERIFY(fs::exists(out / "empty.json") && fs::file_size(out / "empty.json") == 0);
    }

    // Cancelling from another thread stops even a request that is only waiting.
    void cancel_flag_stops_the_listing() {
        std::atomic<bool> cancel{true};
        test::HubServer hub(kRepo, demo_dir());
        HubOptions o = options(hub);
        o.cancel = &cancel;
        QVERIFY_THROWS_EXCEPTION(DownloadCancelled, hub_list_files(kRepo.toStdString(), o));
    }

    // Cancel during the conversion is a cancel too (the downloaded files stay, no .phz is left).
    void cancel_during_conversion_is_a_cancel() {
        std::atomic<bool> cancel{false};
        test::HubServer hub(kRepo, demo_dir());
        QTemporaryDir tmp;
        ModelDownload d;
        d.repo = kRepo.toStdString();
        d.folder = fs::path(tmp.path().toStdString()) / "phi-demo";
        d.phz = fs::path(tmp.path().toStdString()) / "phi-demo.phz";
        HubOptions o = options(hub);
        o.cancel = &cancel;
        QVERIFY_THROWS_EXCEPTION(DownloadCancelled, download_model(d, o, {}, [&](const ConvertProgress&) { cancel = true; }));
        QVERIFY(!fs::exists(d.phz));
        QVERIFY(fs::exists(d.folder / "config.json"));
    }

    void hub_errors_name_the_repository() {
        test::HubServer hub(kRepo, demo_dir());
        try {
            hub_list_files("nobody/nothing", options(hub));
            QFAIL("no error for an unknown repository");
        } catch (const Error& e) {
            QVERIFY2(QString::fromUtf8(e.what()).contains("nobody/nothing") && QString::fromUtf8(e.what()).contains("404"), e.what());
        }
        HubOptions closed;
        closed.base_url = "http://127.0.0.1:1";   // nothing listens there
        QVERIFY_THROWS_EXCEPTION(Error, hub_list_files(kRepo.toStdString(), closed));
    }

    // A listing that would write outside the target folder is refused before anything is written.
    void unsafe_file_names_are_refused() {
        test::HubServer hub(kRepo, demo_dir());
        hub.list_extra(QJsonObject{{"type", "file"}, {"path", "../escape.json"}, {"size", 10}});
        try {
            hub_list_files(kRepo.toStdString(), options(hub));
            QFAIL("an unsafe name was accepted");
        } catch (const Error& e) {
            QVERIFY2(QString::fromUtf8(e.what()).contains("../escape.json"), e.what());
        }
    }
};

QTEST_GUILESS_MAIN(TestDownload)
#include "tst_download.moc"
