// Commands of phidesk-cli implemented outside cli_main.cpp, and helpers they share.
#pragma once
#include "cli_args.h"
#include "phidesk/backend.h"

namespace phidesk::cli {

BackendOptions backend_options(const Args& a);
int cmd_generate(const Args& a);
int cmd_chat(const Args& a);
int cmd_summarize(const Args& a);
int cmd_convert(const Args& a);
int cmd_download(const Args& a);

}  // namespace phidesk::cli
