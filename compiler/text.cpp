#include "compiler/text.h"

namespace ccaflow {

std::size_t utf8_sequence_length(std::string_view text) {
  if (text.empty()) return 0;
  auto byte = static_cast<unsigned char>(text[0]);
  std::size_t length = 0;
  if (byte < 0x80) return 1;
  if ((byte & 0xE0) == 0xC0 && byte >= 0xC2) length = 2;
  else if ((byte & 0xF0) == 0xE0) length = 3;
  else if ((byte & 0xF8) == 0xF0 && byte <= 0xF4) length = 4;
  if (length == 0 || length > text.size()) return 0;
  for (std::size_t k = 1; k < length; ++k) {
    if ((static_cast<unsigned char>(text[k]) & 0xC0) != 0x80) return 0;
  }
  auto second = static_cast<unsigned char>(text[1]);
  if (length == 3 && ((byte == 0xE0 && second < 0xA0) || (byte == 0xED && second >= 0xA0))) return 0;
  if (length == 4 && ((byte == 0xF0 && second < 0x90) || (byte == 0xF4 && second >= 0x90))) return 0;
  return length;
}

std::size_t invalid_utf8_at(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    std::size_t n = utf8_sequence_length(text.substr(i));
    if (n == 0) return i;
    i += n;
  }
  return std::string_view::npos;
}

std::string printable(std::string_view text, std::size_t max) {
  std::string out;
  std::size_t shown = 0;
  for (std::size_t i = 0; i < text.size() && shown < max; ++shown) {
    std::size_t n = utf8_sequence_length(text.substr(i));
    auto byte = static_cast<unsigned char>(text[i]);
    if (n == 0 || (n == 1 && (byte < 0x20 || byte == 0x7F))) {
      out += '?';
      ++i;
    } else {
      out.append(text.substr(i, n));
      i += n;
    }
  }
  if (shown == max && out.size() < text.size()) out += "...";
  return out;
}

std::string read_capped(std::istream& in, std::size_t max_bytes) {
  std::string text;
  char piece[1 << 16];
  while (text.size() <= max_bytes && in.read(piece, sizeof piece).gcount() > 0) {
    text.append(piece, static_cast<std::size_t>(in.gcount()));
  }
  if (text.size() > max_bytes + 1) text.resize(max_bytes + 1);
  return text;
}

}  // namespace ccaflow
