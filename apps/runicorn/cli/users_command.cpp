// `runicorn users`: manages service/user_store.h's file directly (with --catalog, PostgreSQL's
// users through the opener main() gives: pg/pg_user_repository.h). It needs no catalog, so it works
// while a viewer serves the store, and the viewer sees a change at the next request (it reads the
// file for every login and token check). A password never comes from the command line, where
// other users could read it in the process list: --password-file or --password-stdin.
#include "cli/users_command.h"

#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include "cli/cli.h"
#include "encode/v1_json.h"
#include "service/user_store.h"

namespace runicorn::cli {

namespace {

constexpr const char* kUsage =
    "usage: runicorn users add NAME (--password-file FILE | --password-stdin) [--storage DIR | --catalog PG]\n"
    "       runicorn users remove NAME [--storage DIR | --catalog PG]\n"
    "       runicorn users list [--json] [--storage DIR | --catalog PG]\n"
    "The accounts that may log in to the training service API (POST /api/v1/login).\n"
    "--catalog postgresql://...: the users of viewers started with that --catalog (password from\n"
    "PGPASSWORD, ~/.pgpass or PGPASSFILE, never in the URL).\n"
    "The password is read from FILE or standard input; one trailing newline is dropped.\n";

int Usage() {
  std::fputs(kUsage, stderr);
  return kExitUsage;
}

runtrack::Result<std::string> ReadPassword(const Args& args) {
  std::string text;
  if (auto file = args.Get("password-file")) {
    std::ifstream in(*file, std::ios::binary);
    if (!in) return runtrack::Status::NotFound("cannot read password file " + *file);
    std::ostringstream s;
    s << in.rdbuf();
    text = s.str();
  } else {
    text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  }
  if (!text.empty() && text.back() == '\n') text.pop_back();
  if (!text.empty() && text.back() == '\r') text.pop_back();
  return text;
}

}  // namespace

int RunUsers(const std::vector<std::string>& argv, const CatalogUsersOpener& open_catalog) {
  auto args = Args::Parse(argv, {"json", "password-stdin"});
  if (!args.ok() || args->positional().empty() ||
      !args->Unknown({"json", "password-stdin", "password-file", "storage", "catalog"}).empty())
    return Usage();
  const std::string& verb = args->positional()[0];
  const std::filesystem::path root = ResolveStorage(*args);
  std::unique_ptr<service::UserRepository> repository;
  if (auto conninfo = args->Get("catalog")) {
    if (args->Has("storage")) return Usage();
    if (!open_catalog) {
      std::fprintf(stderr, "runicorn users: --catalog: this runicorn was built without libpq (libpq-dev)\n");
      return kExitUsage;
    }
    auto opened = open_catalog(*conninfo);
    if (!opened.ok()) return Fail(opened.status());
    repository = std::move(*opened);
  } else {
    repository = std::make_unique<service::UserStore>(runtrack::StoreLayout(root));
  }
  service::UserRepository& users = *repository;

  if (verb == "add") {
    const bool from_file = args->Has("password-file"), from_stdin = args->Has("password-stdin");
    if (args->positional().size() != 2 || from_file == from_stdin || args->Has("json")) return Usage();
    auto password = ReadPassword(*args);
    if (!password.ok()) return Fail(password.status());
    std::error_code ec;
    if (!args->Has("catalog")) std::filesystem::create_directories(root, ec);
    auto user = users.Add(args->positional()[1], *password);
    if (!user.ok()) return Fail(user.status());
    std::printf("added user %s\n", user->name.c_str());
    return kExitOk;
  }
  if (verb == "remove") {
    if (args->positional().size() != 2 || args->Has("json") || args->Has("password-file") ||
        args->Has("password-stdin"))
      return Usage();
    if (auto s = users.Remove(args->positional()[1]); !s.ok()) return Fail(s);
    std::printf("removed user %s\n", args->positional()[1].c_str());
    return kExitOk;
  }
  if (verb == "list") {
    if (args->positional().size() != 1 || args->Has("password-file") || args->Has("password-stdin")) return Usage();
    auto list = users.List();
    if (!list.ok()) return Fail(list.status());
    if (args->Has("json")) {
      PrintJson(encode::V1UserList(*list));
      return kExitOk;
    }
    std::vector<std::vector<std::string>> rows;
    for (const auto& u : *list) rows.push_back({u.name, u.created_at});
    PrintTable({"NAME", "CREATED"}, rows);
    return kExitOk;
  }
  return Usage();
}

}  // namespace runicorn::cli
