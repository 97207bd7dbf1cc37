// POSIX shell quoting for the commands the SSH remote runs (remote_viewer.cpp): every value from
// outside (a path, a binary name) becomes one single-quoted word, so no character in it (space,
// ;, $, `, ', newline) is ever interpreted by the remote shell.
#pragma once

#include <string>
#include <string_view>

namespace runicorn::service::ssh {

// 'value', with each ' written as '\'' (close the quote, an escaped quote, reopen).
inline std::string ShellQuote(std::string_view value) {
  std::string out = "'";
  for (char c : value) {
    if (c == '\'')
      out += "'\\''";
    else
      out += c;
  }
  out += '\'';
  return out;
}

}  // namespace runicorn::service::ssh
