// The report writer: its JSON is read back by a strict RFC 8259 parser
// written here (and by Python's json module when QCC_TEST_PYTHON is set) and
// compared with the values put in; its HTML is checked for structure, one
// bar per layer, escaping of hostile names and the frontier section.
#include "passes/algorithms/QuantReport.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>

#include <unistd.h>

using namespace qcc::qg;

namespace {

//===----------------------------------------------------------------------===//
// A strict JSON parser for reading the output back
//===----------------------------------------------------------------------===//

struct Json {
  enum Kind { Null, Bool, Number, String, Array, Object } kind = Null;
  bool boolean = false;
  std::string text; ///< a string's value, or a number's literal
  std::vector<Json> items;
  std::vector<std::pair<std::string, Json>> members;

  double number() const {
    EXPECT_EQ(kind, Number) << text;
    return std::strtod(text.c_str(), nullptr);
  }
  int64_t integer() const {
    EXPECT_EQ(kind, Number);
    EXPECT_EQ(text.find_first_of(".eE"), std::string::npos) << text;
    return std::strtoll(text.c_str(), nullptr, 10);
  }
  const Json &operator[](const std::string &key) const {
    for (const auto &[name, value] : members)
      if (name == key)
        return value;
    ADD_FAILURE() << "no key " << key;
    static const Json missing;
    return missing;
  }
  const Json &operator[](size_t index) const {
    if (index < items.size())
      return items[index];
    ADD_FAILURE() << "no element " << index;
    static const Json missing;
    return missing;
  }
  std::vector<std::string> keys() const {
    std::vector<std::string> names;
    for (const auto &member : members)
      names.push_back(member.first);
    return names;
  }
};

class JsonParser {
public:
  explicit JsonParser(std::string_view text) : text(text) {}

  bool parse(Json &value) {
    skipSpace();
    if (!parseValue(value, 0))
      return false;
    skipSpace();
    return at == text.size() || failAt("trailing characters");
  }
  std::string error;

private:
  bool failAt(const std::string &why) {
    error = why + " at offset " + std::to_string(at);
    return false;
  }
  void skipSpace() {
    while (at < text.size() && (text[at] == ' ' || text[at] == '\t' ||
                                text[at] == '\n' || text[at] == '\r'))
      ++at;
  }
  bool literal(std::string_view word) {
    if (text.substr(at, word.size()) != word)
      return failAt("bad literal");
    at += word.size();
    return true;
  }
  bool parseValue(Json &value, int depth) {
    if (depth > 64)
      return failAt("nesting too deep");
    if (at >= text.size())
      return failAt("unexpected end");
    switch (text[at]) {
    case '{':
      return parseObject(value, depth);
    case '[':
      return parseArray(value, depth);
    case '"':
      value.kind = Json::String;
      return parseString(value.text);
    case 't':
      value.kind = Json::Bool;
      value.boolean = true;
      return literal("true");
    case 'f':
      value.kind = Json::Bool;
      return literal("false");
    case 'n':
      value.kind = Json::Null;
      return literal("null");
    default:
      return parseNumber(value);
    }
  }
  bool parseObject(Json &value, int depth) {
    value.kind = Json::Object;
    ++at;
    skipSpace();
    if (at < text.size() && text[at] == '}') {
      ++at;
      return true;
    }
    while (true) {
      skipSpace();
      std::string key;
      if (at >= text.size() || text[at] != '"')
        return failAt("expected a key");
      if (!parseString(key))
        return false;
      for (const auto &member : value.members)
        if (member.first == key)
          return failAt("duplicate key " + key);
      skipSpace();
      if (at >= text.size() || text[at] != ':')
        return failAt("expected ':'");
      ++at;
      skipSpace();
      Json member;
      if (!parseValue(member, depth + 1))
        return false;
      value.members.emplace_back(key, std::move(member));
      skipSpace();
      if (at < text.size() && text[at] == ',') {
        ++at;
        continue;
      }
      if (at < text.size() && text[at] == '}') {
        ++at;
        return true;
      }
      return failAt("expected ',' or '}'");
    }
  }
  bool parseArray(Json &value, int depth) {
    value.kind = Json::Array;
    ++at;
    skipSpace();
    if (at < text.size() && text[at] == ']') {
      ++at;
      return true;
    }
    while (true) {
      skipSpace();
      Json item;
      if (!parseValue(item, depth + 1))
        return false;
      value.items.push_back(std::move(item));
      skipSpace();
      if (at < text.size() && text[at] == ',') {
        ++at;
        continue;
      }
      if (at < text.size() && text[at] == ']') {
        ++at;
        return true;
      }
      return failAt("expected ',' or ']'");
    }
  }
  static void appendUtf8(std::string &out, uint32_t code) {
    if (code < 0x80) {
      out += static_cast<char>(code);
    } else if (code < 0x800) {
      out += static_cast<char>(0xC0 | (code >> 6));
      out += static_cast<char>(0x80 | (code & 0x3F));
    } else if (code < 0x10000) {
      out += static_cast<char>(0xE0 | (code >> 12));
      out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (code & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (code >> 18));
      out += static_cast<char>(0x80 | ((code >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (code & 0x3F));
    }
  }
  bool parseHex4(uint32_t &code) {
    if (text.size() - at < 4)
      return failAt("short \\u escape");
    code = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = text[at++];
      if (!std::isxdigit(static_cast<unsigned char>(c)))
        return failAt("bad \\u escape");
      code = code * 16 +
             (std::isdigit(static_cast<unsigned char>(c))
                  ? c - '0'
                  : std::tolower(static_cast<unsigned char>(c)) - 'a' + 10);
    }
    return true;
  }
  bool parseString(std::string &out) {
    ++at; // opening quote
    while (true) {
      if (at >= text.size())
        return failAt("unterminated string");
      const char c = text[at++];
      if (c == '"')
        return true;
      if (static_cast<unsigned char>(c) < 0x20)
        return failAt("raw control character in a string");
      if (c != '\\') {
        out += c;
        continue;
      }
      if (at >= text.size())
        return failAt("unterminated escape");
      const char escape = text[at++];
      switch (escape) {
      case '"':
      case '\\':
      case '/':
        out += escape;
        break;
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'u': {
        uint32_t code = 0;
        if (!parseHex4(code))
          return false;
        if (code >= 0xD800 && code < 0xDC00) {
          uint32_t low = 0;
          if (text.substr(at, 2) != "\\u")
            return failAt("lone high surrogate");
          at += 2;
          if (!parseHex4(low) || low < 0xDC00 || low > 0xDFFF)
            return failAt("bad low surrogate");
          code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
        } else if (code >= 0xDC00 && code < 0xE000) {
          return failAt("lone low surrogate");
        }
        appendUtf8(out, code);
        break;
      }
      default:
        return failAt("bad escape");
      }
    }
  }
  bool parseNumber(Json &value) {
    const size_t start = at;
    auto digits = [&] {
      const size_t first = at;
      while (at < text.size() &&
             std::isdigit(static_cast<unsigned char>(text[at])))
        ++at;
      return at > first;
    };
    if (at < text.size() && text[at] == '-')
      ++at;
    if (at < text.size() && text[at] == '0')
      ++at;
    else if (!digits())
      return failAt("bad number");
    if (at < text.size() && text[at] == '.') {
      ++at;
      if (!digits())
        return failAt("bad fraction");
    }
    if (at < text.size() && (text[at] == 'e' || text[at] == 'E')) {
      ++at;
      if (at < text.size() && (text[at] == '+' || text[at] == '-'))
        ++at;
      if (!digits())
        return failAt("bad exponent");
    }
    value.kind = Json::Number;
    value.text = std::string(text.substr(start, at - start));
    return true;
  }

  std::string_view text;
  size_t at = 0;
};

/// RFC 3629 UTF-8, no overlongs or surrogates.
bool validUtf8(std::string_view text) {
  for (size_t at = 0; at < text.size();) {
    const auto b = [&](size_t i) {
      return static_cast<unsigned char>(text[i]);
    };
    const unsigned char lead = b(at);
    size_t length;
    uint32_t code;
    if (lead < 0x80) {
      ++at;
      continue;
    } else if ((lead & 0xE0) == 0xC0) {
      length = 2;
      code = lead & 0x1F;
    } else if ((lead & 0xF0) == 0xE0) {
      length = 3;
      code = lead & 0x0F;
    } else if ((lead & 0xF8) == 0xF0) {
      length = 4;
      code = lead & 0x07;
    } else {
      return false;
    }
    if (text.size() - at < length)
      return false;
    for (size_t i = 1; i < length; ++i) {
      if ((b(at + i) & 0xC0) != 0x80)
        return false;
      code = (code << 6) | (b(at + i) & 0x3F);
    }
    const uint32_t minimum[] = {0, 0, 0x80, 0x800, 0x10000};
    if (code < minimum[length] || code > 0x10FFFF ||
        (code >= 0xD800 && code < 0xE000))
      return false;
    at += length;
  }
  return true;
}

Json parseJson(const std::string &text) {
  EXPECT_TRUE(validUtf8(text));
  JsonParser parser(text);
  Json value;
  EXPECT_TRUE(parser.parse(value)) << parser.error << "\n" << text;
  return value;
}

//===----------------------------------------------------------------------===//
// Fixtures
//===----------------------------------------------------------------------===//

constexpr double kInf = std::numeric_limits<double>::infinity();
const std::string kHostile =
    "a\"b\\c\nd</td><script>alert(1)</script>'&\x01\t\xC3\xA9\xE6\x97\xA5";

QuantReport sampleReport() {
  QuantReport report;
  report.model = "models/net.onnx";
  report.scheme = "mixed";
  report.method = "gptq";
  report.calibration = "entropy, 500 samples";
  report.bytesFp32 = 4'000'000'001;
  report.bytesQuantized = 1'000'000'003;
  report.metrics = {{"output SQNR (dB)", 31.25}, {"top-1 agreement", 0.1}};

  LayerReport exact;
  exact.name = "/layer0/attn/q/MatMul";
  exact.sources = {"q_proj", "q_bias"};
  exact.op = "qg.matmul";
  exact.format = "i8";
  exact.granularity = "channel";
  exact.algorithm = "rtn";
  exact.activations = "i8 static";
  exact.bits = 8.0 + 1.0 / 3.0;                  // no short decimal form
  exact.weightElements = (int64_t{1} << 53) + 1; // beyond double's integers
  exact.bytesFp32 = 4 * 4096;
  exact.bytes = 4096 + 64;
  exact.sqnrDb = kInf;
  exact.mse = 0.0;

  LayerReport measured = exact;
  measured.name = "/layer0/mlp/up/MatMul";
  measured.sources = {"up_proj"};
  measured.format = "nf4";
  measured.granularity = "g128";
  measured.algorithm = "gptq";
  measured.activations = "f32";
  measured.bits = 4.125;
  measured.weightElements = 1 << 20;
  measured.sqnrDb = 0.1 + 0.2;
  measured.mse = 1e-300;

  LayerReport unmeasured = measured;
  unmeasured.name = "/layer1/mlp/down/MatMul";
  unmeasured.format = "i4";
  unmeasured.sqnrDb.reset();
  unmeasured.mse.reset();

  report.layers = {exact, measured, unmeasured};
  report.frontier = {{3'000'000, 0.5, false},
                     {1'000'000'003, 0.125, true},
                     {2'000'000'000, 0.0625, false}};
  return report;
}

bool contains(const std::string &text, const std::string &part) {
  return text.find(part) != std::string::npos;
}

size_t countOf(const std::string &text, const std::string &part) {
  size_t count = 0;
  for (size_t at = text.find(part); at != std::string::npos;
       at = text.find(part, at + part.size()))
    ++count;
  return count;
}

/// The element with the given id, from its start tag to its end tag (no
/// nested elements of the same name in what is checked here).
std::string elementById(const std::string &html, const std::string &tag,
                        const std::string &id) {
  const size_t start = html.find("<" + tag + " id=\"" + id + "\"");
  if (start == std::string::npos)
    return "";
  const size_t end = html.find("</" + tag + ">", start);
  EXPECT_NE(end, std::string::npos);
  return html.substr(start, end - start);
}

std::vector<double> attributeValues(const std::string &svg,
                                    const std::string &element,
                                    const std::string &attribute) {
  std::vector<double> values;
  for (size_t at = svg.find("<" + element + " "); at != std::string::npos;
       at = svg.find("<" + element + " ", at + 1)) {
    const size_t tagEnd = svg.find('>', at);
    const size_t name = svg.find(" " + attribute + "=\"", at);
    EXPECT_LT(name, tagEnd);
    values.push_back(
        std::strtod(svg.c_str() + name + attribute.size() + 3, nullptr));
  }
  return values;
}

/// Start and end tags nest properly (void and self-closing tags aside).
bool tagsBalance(const std::string &html, std::string &why) {
  static const char *const kVoid[] = {"meta", "br", "link",
                                      "img",  "hr", "input"};
  std::vector<std::string> open;
  for (size_t at = html.find('<'); at != std::string::npos;
       at = html.find('<', at + 1)) {
    if (html.compare(at, 2, "<!") == 0)
      continue;
    const size_t end = html.find('>', at);
    if (end == std::string::npos) {
      why = "unclosed tag at " + std::to_string(at);
      return false;
    }
    const bool closing = html[at + 1] == '/';
    const size_t nameStart = at + (closing ? 2 : 1);
    const size_t nameEnd = html.find_first_of(" />\n", nameStart);
    const std::string name = html.substr(nameStart, nameEnd - nameStart);
    if (closing) {
      if (open.empty() || open.back() != name) {
        why = "</" + name + "> closes <" +
              (open.empty() ? std::string("nothing") : open.back()) + ">";
        return false;
      }
      open.pop_back();
    } else if (html[end - 1] != '/' &&
               std::find(std::begin(kVoid), std::end(kVoid), name) ==
                   std::end(kVoid)) {
      open.push_back(name);
    }
  }
  if (!open.empty()) {
    why = "<" + open.back() + "> never closed";
    return false;
  }
  return true;
}

std::string lowercase(std::string text) {
  for (char &c : text)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

//===----------------------------------------------------------------------===//
// JSON
//===----------------------------------------------------------------------===//

TEST(QuantReport, JsonHasTheDocumentedKeysInOrder) {
  const Json json = parseJson(reportToJson(sampleReport()));
  ASSERT_EQ(json.kind, Json::Object);
  EXPECT_EQ(json.keys(), (std::vector<std::string>{
                             "model", "scheme", "method", "calibration",
                             "bytes_fp32", "bytes_quantized", "compression",
                             "metrics", "layers", "frontier"}));
  ASSERT_EQ(json["layers"].items.size(), 3u);
  EXPECT_EQ(
      json["layers"][0].keys(),
      (std::vector<std::string>{
          "name", "sources", "op", "format", "granularity", "algorithm",
          "activations", "bits", "weight_elements", "bytes_fp32", "bytes",
          "sqnr_db", "mse", "weight_output_error", "rtn_weight_output_error"}));
  EXPECT_EQ(json["metrics"][0].keys(),
            (std::vector<std::string>{"name", "value"}));
  EXPECT_EQ(json["frontier"][0].keys(),
            (std::vector<std::string>{"bytes", "error", "chosen"}));
}

TEST(QuantReport, JsonValuesRoundTrip) {
  const QuantReport report = sampleReport();
  const Json json = parseJson(reportToJson(report));
  EXPECT_EQ(json["model"].text, report.model);
  EXPECT_EQ(json["scheme"].text, report.scheme);
  EXPECT_EQ(json["method"].text, report.method);
  EXPECT_EQ(json["calibration"].text, report.calibration);
  EXPECT_EQ(json["bytes_fp32"].integer(), report.bytesFp32);
  EXPECT_EQ(json["bytes_quantized"].integer(), report.bytesQuantized);
  EXPECT_EQ(json["compression"].number(), 4'000'000'001.0 / 1'000'000'003.0);
  ASSERT_EQ(json["metrics"].items.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(json["metrics"][i]["name"].text, report.metrics[i].name);
    EXPECT_EQ(json["metrics"][i]["value"].number(), report.metrics[i].value);
  }
  for (size_t i = 0; i < report.layers.size(); ++i) {
    SCOPED_TRACE(report.layers[i].name);
    const LayerReport &layer = report.layers[i];
    const Json &back = json["layers"][i];
    EXPECT_EQ(back["name"].text, layer.name);
    ASSERT_EQ(back["sources"].items.size(), layer.sources.size());
    for (size_t s = 0; s < layer.sources.size(); ++s)
      EXPECT_EQ(back["sources"][s].text, layer.sources[s]);
    EXPECT_EQ(back["op"].text, layer.op);
    EXPECT_EQ(back["format"].text, layer.format);
    EXPECT_EQ(back["granularity"].text, layer.granularity);
    EXPECT_EQ(back["algorithm"].text, layer.algorithm);
    EXPECT_EQ(back["activations"].text, layer.activations);
    EXPECT_EQ(back["bits"].number(), layer.bits); // bit-exact
    EXPECT_EQ(back["weight_elements"].integer(), layer.weightElements);
    EXPECT_EQ(back["bytes_fp32"].integer(), layer.bytesFp32);
    EXPECT_EQ(back["bytes"].integer(), layer.bytes);
  }
  // +inf is the string "inf"; absent values are null.
  EXPECT_EQ(json["layers"][0]["sqnr_db"].kind, Json::String);
  EXPECT_EQ(json["layers"][0]["sqnr_db"].text, "inf");
  EXPECT_EQ(json["layers"][0]["mse"].number(), 0.0);
  EXPECT_EQ(json["layers"][1]["sqnr_db"].number(), 0.1 + 0.2);
  EXPECT_EQ(json["layers"][1]["mse"].number(), 1e-300);
  EXPECT_EQ(json["layers"][2]["sqnr_db"].kind, Json::Null);
  EXPECT_EQ(json["layers"][2]["mse"].kind, Json::Null);
  ASSERT_EQ(json["frontier"].items.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(json["frontier"][i]["bytes"].integer(), report.frontier[i].bytes);
    EXPECT_EQ(json["frontier"][i]["error"].number(), report.frontier[i].error);
    EXPECT_EQ(json["frontier"][i]["chosen"].kind, Json::Bool);
    EXPECT_EQ(json["frontier"][i]["chosen"].boolean, report.frontier[i].chosen);
  }
}

TEST(QuantReport, JsonSpellsNonFiniteNumbersAsStrings) {
  QuantReport report;
  report.metrics = {{"a", -kInf},
                    {"b", std::numeric_limits<double>::quiet_NaN()},
                    {"c", -0.0},
                    {"d", 5e-324},
                    {"e", 1.7976931348623157e308}};
  const Json json = parseJson(reportToJson(report));
  EXPECT_EQ(json["metrics"][0]["value"].text, "-inf");
  EXPECT_EQ(json["metrics"][0]["value"].kind, Json::String);
  EXPECT_EQ(json["metrics"][1]["value"].text, "nan");
  EXPECT_TRUE(std::signbit(json["metrics"][2]["value"].number()));
  EXPECT_EQ(json["metrics"][3]["value"].number(), 5e-324);
  EXPECT_EQ(json["metrics"][4]["value"].number(), 1.7976931348623157e308);
  // Nothing to divide by: no ratio rather than inf.
  EXPECT_EQ(json["compression"].kind, Json::Null);
}

TEST(QuantReport, JsonOfAnEmptyReportIsValid) {
  const std::string text = reportToJson(QuantReport{});
  const Json json = parseJson(text);
  EXPECT_EQ(json["model"].text, "");
  EXPECT_TRUE(json["layers"].items.empty());
  EXPECT_TRUE(json["frontier"].items.empty());
  EXPECT_TRUE(contains(text, "\"layers\": []")) << text;
}

TEST(QuantReport, JsonEscapesHostileStrings) {
  QuantReport report = sampleReport();
  report.layers[0].name = kHostile;
  report.layers[0].sources = {kHostile, std::string("\x7f\x00z", 3)};
  report.model = "bad\xFF\xC0\xAFutf8\xED\xA0\x80";
  const std::string text = reportToJson(report);
  for (char c : text)
    EXPECT_FALSE(static_cast<unsigned char>(c) < 0x20 && c != '\n')
        << "raw control character " << static_cast<int>(c);
  EXPECT_TRUE(contains(text, R"(a\"b\\c\nd</td>)")) << text;
  EXPECT_TRUE(contains(text, "\\u0001\\t")) << text;
  const Json json = parseJson(text);
  EXPECT_EQ(json["layers"][0]["name"].text, kHostile);
  EXPECT_EQ(json["layers"][0]["sources"][0].text, kHostile);
  EXPECT_EQ(json["layers"][0]["sources"][1].text, std::string("\x7f\x00z", 3));
  // Each byte that starts no valid sequence becomes U+FFFD.
  EXPECT_EQ(json["model"].text, "bad\uFFFD\uFFFD\uFFFDutf8\uFFFD\uFFFD\uFFFD");
}

TEST(QuantReport, JsonParsesInPython) {
  const char *python = std::getenv("QCC_TEST_PYTHON");
  if (!python || !*python)
    GTEST_SKIP() << "set QCC_TEST_PYTHON to check with Python's json module";
  QuantReport report = sampleReport();
  report.layers[1].name = kHostile;
  // Named per process: other build trees may run this test at once.
  const std::string prefix =
      ::testing::TempDir() + "qcc-report-" + std::to_string(getpid());
  const std::string path = prefix + ".json";
  {
    std::ofstream stream(path, std::ios::binary);
    stream << reportToJson(report);
  }
  const std::string check =
      "import json, sys\n"
      "d = json.load(open(sys.argv[1], encoding='utf-8'))\n"
      "assert d['layers'][0]['sqnr_db'] == 'inf'\n"
      "assert d['layers'][1]['name'].startswith('a\"b\\\\c\\nd</td><script>')\n"
      "assert d['layers'][2]['mse'] is None\n"
      "assert d['frontier'][1]['chosen'] is True\n";
  const std::string script = prefix + "-check.py";
  {
    std::ofstream stream(script);
    stream << check;
  }
  const std::string command =
      std::string("\"") + python + "\" \"" + script + "\" \"" + path + "\"";
  EXPECT_EQ(std::system(command.c_str()), 0) << command;
  std::remove(path.c_str());
  std::remove(script.c_str());
}

//===----------------------------------------------------------------------===//
// HTML
//===----------------------------------------------------------------------===//

TEST(QuantReport, HtmlIsOneSelfContainedPage) {
  const std::string html = reportToHtml(sampleReport());
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_TRUE(validUtf8(html));
  std::string why;
  EXPECT_TRUE(tagsBalance(html, why)) << why;
  const std::string lower = lowercase(html);
  EXPECT_FALSE(contains(lower, "<script"));
  EXPECT_FALSE(contains(lower, "<link"));
  EXPECT_FALSE(contains(lower, "src="));
  EXPECT_FALSE(contains(lower, "href="));
  EXPECT_FALSE(contains(lower, "url("));
  EXPECT_FALSE(contains(lower, "@import"));
  // The only address is the SVG namespace name, which loads nothing.
  EXPECT_EQ(countOf(lower, "http"),
            countOf(lower, "xmlns=\"http://www.w3.org/2000/svg\""));
  EXPECT_TRUE(contains(html, "<title>qcc quantization report: "
                             "models/net.onnx</title>"));
  // Summary: sizes, the ratio and the metrics.
  const std::string summary = elementById(html, "section", "summary");
  EXPECT_TRUE(contains(summary, "4,000,000,001")) << summary;
  EXPECT_TRUE(contains(summary, "1,000,000,003")) << summary;
  EXPECT_TRUE(contains(summary, "4.00&times;")) << summary;
  EXPECT_TRUE(contains(summary, "entropy, 500 samples"));
  EXPECT_TRUE(contains(summary, "top-1 agreement"));
  EXPECT_TRUE(contains(summary, "31.25"));
  // Per-layer table: one body row per layer.
  const std::string layers = elementById(html, "section", "layers");
  EXPECT_EQ(countOf(layers, "<tr>"), 1 + sampleReport().layers.size());
  EXPECT_TRUE(contains(layers, "q_proj<br>q_bias"));
}

TEST(QuantReport, HtmlBarChartHasOneBarPerLayer) {
  QuantReport report = sampleReport();
  LayerReport negative = report.layers[1];
  negative.name = "/head/MatMul";
  negative.sqnrDb = -7.5;
  report.layers.push_back(negative);
  report.layers[1].sqnrDb = 30.0;
  const std::string html = reportToHtml(report);
  const std::string chart = elementById(html, "svg", "sqnr-chart");
  ASSERT_FALSE(chart.empty());
  EXPECT_EQ(countOf(chart, "<rect"), report.layers.size());
  for (const LayerReport &layer : report.layers)
    EXPECT_TRUE(contains(chart, layer.name)) << layer.name;
  EXPECT_TRUE(contains(chart, "30.00 dB"));
  EXPECT_TRUE(contains(chart, "-7.50 dB"));
  EXPECT_TRUE(contains(chart, "&infin; dB (exact)"));
  EXPECT_TRUE(contains(chart, "not measured"));

  // Bars are proportional to SQNR from a common zero: the exact layer fills
  // the axis, 30 dB and -7.5 dB stand 4 to 1, the unmeasured one is empty.
  const std::vector<double> widths = attributeValues(chart, "rect", "width");
  const std::vector<double> xs = attributeValues(chart, "rect", "x");
  ASSERT_EQ(widths.size(), 4u);
  EXPECT_NEAR(widths[1] / widths[3], 4.0, 0.01);
  EXPECT_EQ(widths[2], 0.0);
  EXPECT_NEAR(xs[3] + widths[3], xs[1], 0.01); // negative bar ends at zero
  EXPECT_NEAR(xs[0], xs[1], 0.01);
  EXPECT_GE(widths[0], widths[1]);

  // Bars are colored by format, the same format the same color.
  const std::vector<std::string> fills = [&] {
    std::vector<std::string> colors;
    for (size_t at = chart.find("<rect"); at != std::string::npos;
         at = chart.find("<rect", at + 1)) {
      const size_t fill = chart.find("fill=\"", at) + 6;
      colors.push_back(chart.substr(fill, chart.find('"', fill) - fill));
    }
    return colors;
  }();
  EXPECT_NE(fills[0], fills[1]); // i8, nf4
  EXPECT_NE(fills[1], fills[2]); // nf4, i4
  EXPECT_EQ(fills[1], fills[3]); // nf4, nf4
}

TEST(QuantReport, HtmlChartsHandleReportsWithoutNumbers) {
  QuantReport report = sampleReport();
  for (LayerReport &layer : report.layers)
    layer.sqnrDb.reset();
  std::string html = reportToHtml(report);
  std::string why;
  EXPECT_TRUE(tagsBalance(html, why)) << why;
  EXPECT_EQ(countOf(elementById(html, "svg", "sqnr-chart"), "<rect"), 3u);
  EXPECT_FALSE(contains(html, "nan"));

  html = reportToHtml(QuantReport{});
  EXPECT_TRUE(tagsBalance(html, why)) << why;
  EXPECT_FALSE(contains(html, "<rect"));
}

TEST(QuantReport, HtmlEscapesHostileNames) {
  QuantReport report = sampleReport();
  report.model = kHostile;
  report.scheme = "<img src=x onerror=alert(1)>";
  report.calibration = kHostile;
  report.metrics[0].name = kHostile;
  for (LayerReport &layer : report.layers) {
    layer.name = kHostile + "\xFF";
    layer.sources = {kHostile};
    layer.format = "\"><script>x</script>";
    layer.op = kHostile;
  }
  const std::string html = reportToHtml(report);
  const std::string lower = lowercase(html);
  EXPECT_FALSE(contains(lower, "<script"));
  EXPECT_FALSE(contains(lower, "<img"));
  EXPECT_FALSE(contains(lower, "</td><script"));
  EXPECT_TRUE(contains(html, "&lt;script&gt;alert(1)&lt;/script&gt;"));
  EXPECT_TRUE(contains(html, "a&quot;b\\c"));
  EXPECT_TRUE(contains(html, "&#39;&amp;"));
  EXPECT_TRUE(validUtf8(html));
  for (char c : html)
    EXPECT_FALSE(static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\t')
        << "raw control character " << static_cast<int>(c);
  std::string why;
  EXPECT_TRUE(tagsBalance(html, why)) << why;
  EXPECT_EQ(countOf(elementById(html, "svg", "sqnr-chart"), "<rect"), 3u);
}

TEST(QuantReport, HtmlFrontierIsShownIffPresent) {
  QuantReport report = sampleReport();
  std::string html = reportToHtml(report);
  const std::string chart = elementById(html, "svg", "frontier-chart");
  ASSERT_TRUE(contains(html, "<section id=\"frontier\">"));
  ASSERT_FALSE(chart.empty());
  EXPECT_EQ(countOf(chart, "<circle"), report.frontier.size());
  EXPECT_EQ(countOf(chart, "chosen:"), 2u); // tooltip and label, once
  EXPECT_TRUE(contains(chart, "model size"));
  EXPECT_TRUE(contains(chart, "error"));
  // The chosen point is drawn larger than the others.
  const std::vector<double> radii = attributeValues(chart, "circle", "r");
  ASSERT_EQ(radii.size(), 3u);
  EXPECT_GT(radii[1], radii[0]);
  EXPECT_EQ(radii[0], radii[2]);
  // Larger models sit further right; lower error sits lower (larger y).
  const std::vector<double> cx = attributeValues(chart, "circle", "cx");
  const std::vector<double> cy = attributeValues(chart, "circle", "cy");
  EXPECT_LT(cx[0], cx[1]);
  EXPECT_LT(cx[1], cx[2]);
  EXPECT_LT(cy[0], cy[1]);
  EXPECT_LT(cy[1], cy[2]);

  report.frontier.clear();
  html = reportToHtml(report);
  EXPECT_FALSE(contains(html, "id=\"frontier\""));
  EXPECT_FALSE(contains(html, "frontier-chart"));
  EXPECT_FALSE(contains(html, "<circle"));

  // A lone point and a non-finite error still give a drawable page.
  report.frontier = {{1000, 0.5, true}, {2000, kInf, false}};
  html = reportToHtml(report);
  std::string why;
  EXPECT_TRUE(tagsBalance(html, why)) << why;
  EXPECT_EQ(countOf(elementById(html, "svg", "frontier-chart"), "<circle"), 1u);
  EXPECT_TRUE(contains(html, "not drawn"));
  EXPECT_FALSE(contains(lowercase(html), "nan"));
}

} // namespace
