// The quantization report as JSON and as one static HTML page. Layer and
// node names come from untrusted model files, so every string is made valid
// UTF-8 and escaped for the output it lands in; the charts are hand-laid
// inline SVG so the page needs nothing from elsewhere.
//
// JSON conventions: numbers are written in the shortest form that parses
// back to the same double (std::to_chars); non-finite doubles become the
// strings "inf", "-inf" and "nan" (an exact layer's SQNR is +inf, which JSON
// cannot spell, and null is kept for "not measured"); absent optionals and a
// compression ratio over zero quantized bytes are null; bytes that are not
// valid UTF-8 become U+FFFD.
#include "passes/algorithms/QuantReport.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <string_view>

namespace qcc::compiler {

namespace {

/// Length of the valid UTF-8 sequence starting at `at`, or 0 when the byte
/// there does not start one (overlong forms and surrogates included).
size_t utf8SequenceLength(std::string_view text, size_t at) {
  const auto byte = [&](size_t i) {
    return static_cast<unsigned char>(text[i]);
  };
  const unsigned char lead = byte(at);
  if (lead < 0x80)
    return 1;
  size_t length;
  unsigned char low = 0x80, high = 0xBF; // range of the second byte
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0)
      low = 0xA0;
    if (lead == 0xED)
      high = 0x9F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0)
      low = 0x90;
    if (lead == 0xF4)
      high = 0x8F;
  } else {
    return 0;
  }
  if (text.size() - at < length)
    return 0;
  if (byte(at + 1) < low || byte(at + 1) > high)
    return 0;
  for (size_t i = 2; i < length; ++i)
    if ((byte(at + i) & 0xC0) != 0x80)
      return 0;
  return length;
}

/// Copies valid multi-byte UTF-8 sequences of `text` through, replaces each
/// byte that starts no valid sequence with `invalid`, and hands every ASCII
/// character to `escapeAscii`, which appends its escaped form. JSON and HTML
/// escaping differ only in those two.
template <typename EscapeAscii>
std::string escapeUtf8(std::string_view text, std::string_view invalid,
                       EscapeAscii escapeAscii) {
  std::string out;
  for (size_t at = 0; at < text.size();) {
    const size_t length = utf8SequenceLength(text, at);
    if (length == 0) {
      out += invalid;
      ++at;
    } else if (length > 1) {
      out.append(text.substr(at, length));
      at += length;
    } else {
      escapeAscii(text[at++], out);
    }
  }
  return out;
}

//===----------------------------------------------------------------------===//
// JSON
//===----------------------------------------------------------------------===//

/// Appends the JSON form of one ASCII character.
void escapeJsonAscii(char c, std::string &out) {
  switch (c) {
  case '"':
    out += "\\\"";
    break;
  case '\\':
    out += "\\\\";
    break;
  case '\b':
    out += "\\b";
    break;
  case '\f':
    out += "\\f";
    break;
  case '\n':
    out += "\\n";
    break;
  case '\r':
    out += "\\r";
    break;
  case '\t':
    out += "\\t";
    break;
  default:
    if (static_cast<unsigned char>(c) < 0x20) {
      char escaped[8];
      std::snprintf(escaped, sizeof(escaped), "\\u%04x",
                    static_cast<unsigned>(c));
      out += escaped;
    } else {
      out += c;
    }
  }
}

std::string jsonString(std::string_view text) {
  return "\"" + escapeUtf8(text, "\\ufffd", escapeJsonAscii) + "\"";
}

std::string jsonNumber(double value) {
  if (std::isnan(value))
    return "\"nan\"";
  if (std::isinf(value))
    return value > 0 ? "\"inf\"" : "\"-inf\"";
  char buffer[32];
  const auto result = std::to_chars(buffer, buffer + sizeof(buffer), value);
  return std::string(buffer, result.ptr);
}

std::string jsonNumber(const std::optional<double> &value) {
  return value ? jsonNumber(*value) : "null";
}

std::string jsonInteger(int64_t value) { return std::to_string(value); }

/// Pretty-printed JSON: one member or element per line, two-space indents.
class JsonWriter {
public:
  void beginObject() { open('{'); }
  void endObject() { close('}'); }
  void beginArray() { open('['); }
  void endArray() { close(']'); }
  /// Starts an object member; its value follows.
  void key(std::string_view name) {
    separate();
    out += jsonString(name);
    out += ": ";
    afterKey = true;
  }
  /// A value already in JSON form (string, number, literal).
  void raw(const std::string &json) {
    separate();
    out += json;
  }
  void member(std::string_view name, const std::string &json) {
    key(name);
    raw(json);
  }
  std::string take() { return std::move(out) + "\n"; }

private:
  void separate() {
    if (afterKey) {
      afterKey = false;
      return;
    }
    if (firsts.empty())
      return;
    if (!firsts.back())
      out += ',';
    firsts.back() = false;
    newline();
  }
  void open(char bracket) {
    separate();
    out += bracket;
    firsts.push_back(true);
  }
  void close(char bracket) {
    const bool empty = firsts.back();
    firsts.pop_back();
    if (!empty)
      newline();
    out += bracket;
  }
  void newline() {
    out += '\n';
    out.append(2 * firsts.size(), ' ');
  }

  std::string out;
  std::vector<bool> firsts; ///< per open container: no element written yet
  bool afterKey = false;
};

//===----------------------------------------------------------------------===//
// HTML helpers
//===----------------------------------------------------------------------===//

/// Appends the HTML form of one ASCII character.
void escapeHtmlAscii(char c, std::string &out) {
  switch (c) {
  case '&':
    out += "&amp;";
    break;
  case '<':
    out += "&lt;";
    break;
  case '>':
    out += "&gt;";
    break;
  case '"':
    out += "&quot;";
    break;
  case '\'':
    out += "&#39;";
    break;
  case '\t':
  case '\n':
  case '\r':
    out += c;
    break;
  default:
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F)
      out += "\xEF\xBF\xBD";
    else
      out += c;
  }
}

/// Text safe in HTML content and in quoted attribute values, in HTML and
/// inline SVG alike. Control characters other than whitespace and invalid
/// UTF-8 become U+FFFD.
std::string escapeHtml(std::string_view text) {
  return escapeUtf8(text, "\xEF\xBF\xBD", escapeHtmlAscii);
}

/// The first `limit` characters (code points) of a name, with an ellipsis
/// when cut, so long layer names do not run over the chart.
std::string shortenName(std::string_view text, size_t limit) {
  size_t at = 0, count = 0;
  while (at < text.size() && count < limit) {
    at += std::max<size_t>(utf8SequenceLength(text, at), 1);
    ++count;
  }
  if (at >= text.size())
    return escapeHtml(text);
  return escapeHtml(text.substr(0, at)) + "&hellip;";
}

std::string printNumber(const char *pattern, double value) {
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), pattern, value);
  return buffer;
}

/// SVG coordinates: two decimals are finer than a pixel.
std::string coordinate(double value) { return printNumber("%.2f", value); }

std::string groupedInteger(int64_t value) {
  std::string digits = std::to_string(value);
  const size_t first = digits[0] == '-' ? 1 : 0;
  for (size_t at = digits.size(); at > first + 3; at -= 3)
    digits.insert(at - 3, ",");
  return digits;
}

std::string humanBytes(double bytes) {
  static const char *const kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int unit = 0;
  double scaled = bytes;
  while (std::fabs(scaled) >= 1024 && unit < 4) {
    scaled /= 1024;
    ++unit;
  }
  if (unit == 0)
    return printNumber("%.0f", scaled) + " B";
  return printNumber(std::fabs(scaled) < 10 ? "%.2f" : "%.1f", scaled) + " " +
         kUnits[unit];
}

std::string byteCell(int64_t bytes) {
  return groupedInteger(bytes) + " (" + humanBytes(static_cast<double>(bytes)) +
         ")";
}

std::string sqnrText(const std::optional<double> &sqnr) {
  if (!sqnr)
    return "not measured";
  if (std::isnan(*sqnr))
    return "NaN";
  if (std::isinf(*sqnr))
    return *sqnr > 0 ? "&infin; dB (exact)" : "&minus;&infin; dB";
  return printNumber("%.2f", *sqnr) + " dB";
}

std::string generalNumber(double value) {
  if (std::isnan(value))
    return "NaN";
  if (std::isinf(value))
    return value > 0 ? "&infin;" : "&minus;&infin;";
  return printNumber("%.6g", value);
}

/// A fixed color for the common formats so reports compare at a glance;
/// others get a stable color from a hash of the name.
std::string formatColor(const std::string &format) {
  static const std::pair<const char *, const char *> kKnown[] = {
      {"f32", "#9e9e9e"},    {"f16", "#78909c"}, {"bf16", "#607d8b"},
      {"i8", "#1f77b4"},     {"u8", "#4a98c9"},  {"f8e4m3", "#17becf"},
      {"f8e5m2", "#0e8a96"}, {"fp8", "#17becf"}, {"i4", "#ff7f0e"},
      {"u4", "#f5a15a"},     {"nf4", "#2ca02c"}, {"fp4", "#98df8a"},
      {"i2", "#d62728"},
  };
  for (const auto &[name, color] : kKnown)
    if (format == name)
      return color;
  static const char *const kOthers[] = {"#9467bd", "#8c564b", "#e377c2",
                                        "#bcbd22", "#7f7f7f", "#393b79"};
  uint32_t hash = 2166136261u; // FNV-1a
  for (unsigned char c : format)
    hash = (hash ^ c) * 16777619u;
  return kOthers[hash % std::size(kOthers)];
}

/// Round tick spacing (1, 2 or 5 times a power of ten) giving about
/// `count` ticks over [lo, hi].
double tickStep(double lo, double hi, int count) {
  const double raw = (hi - lo) / count;
  if (!(raw > 0) || !std::isfinite(raw))
    return 1;
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  for (double factor : {1.0, 2.0, 5.0})
    if (raw <= factor * magnitude)
      return factor * magnitude;
  return 10 * magnitude;
}

/// A linear axis over [lo, hi] widened to whole ticks.
struct Axis {
  double lo = 0, hi = 1, step = 1;

  static Axis over(double lo, double hi, int ticks) {
    if (!(hi > lo)) {
      const double pad = lo == 0 ? 1 : std::fabs(lo) * 0.1;
      lo -= lo == 0 ? 0 : pad;
      hi += pad;
    }
    Axis axis;
    axis.step = tickStep(lo, hi, ticks);
    axis.lo = std::floor(lo / axis.step) * axis.step;
    axis.hi = std::ceil(hi / axis.step) * axis.step;
    return axis;
  }
  double fraction(double value) const { return (value - lo) / (hi - lo); }
  std::vector<double> ticks() const {
    std::vector<double> values;
    for (int i = 0;; ++i) {
      const double value = lo + i * step;
      if (value > hi + step * 1e-9 || i > 100)
        break;
      values.push_back(std::fabs(value) < step * 1e-9 ? 0 : value);
    }
    return values;
  }
};

//===----------------------------------------------------------------------===//
// HTML sections
//===----------------------------------------------------------------------===//

constexpr const char *kStyle =
    R"(body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1200px;padding:0 1em;color:#222;background:#fff}
h1{font-size:1.6em}h2{font-size:1.25em;margin-top:2em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5em 0;font-size:.9em}
th,td{border:1px solid #d0d0d0;padding:.25em .6em;text-align:left;vertical-align:top}
th{background:#f3f3f3}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.swatch{display:inline-block;width:.8em;height:.8em;margin-right:.35em;border:1px solid #0003;vertical-align:-.05em}
.legend span.item{margin-right:1.2em;white-space:nowrap}
.note{color:#666;font-size:.85em}
svg{font-family:system-ui,sans-serif;font-size:12px;max-width:100%;height:auto}
svg .grid{stroke:#e4e4e4}svg .axis{stroke:#555}
svg .label{fill:#333}svg .value{fill:#333}svg .tick{fill:#666;font-size:11px}
)";

void appendSummary(const Report &report, std::string &html) {
  html += "<section id=\"summary\">\n<h2>Summary</h2>\n<table>\n";
  auto row = [&](const char *name, const std::string &value, bool number) {
    html += "<tr><th scope=\"row\">";
    html += name;
    html += number ? "</th><td class=\"num\">" : "</th><td>";
    html += value + "</td></tr>\n";
  };
  row("Model", escapeHtml(report.model), false);
  row("Scheme", escapeHtml(report.scheme), false);
  row("Method", escapeHtml(report.method), false);
  row("Calibration", escapeHtml(report.calibration), false);
  row("FP32 weights", byteCell(report.bytesFp32), true);
  row("Quantized weights", byteCell(report.bytesQuantized), true);
  row("Compression",
      report.bytesQuantized > 0
          ? printNumber("%.2f",
                        static_cast<double>(report.bytesFp32) /
                            static_cast<double>(report.bytesQuantized)) +
                "&times;"
          : std::string("&mdash;"),
      true);
  html += "</table>\n";
  if (!report.metrics.empty()) {
    html += "<h3>Model metrics</h3>\n<table>\n";
    for (const ModelMetric &metric : report.metrics)
      html += "<tr><th scope=\"row\">" + escapeHtml(metric.name) +
              "</th><td class=\"num\">" + generalNumber(metric.value) +
              "</td></tr>\n";
    html += "</table>\n";
  }
  html += "</section>\n";
}

void appendLayerTable(const Report &report, std::string &html) {
  html += "<section id=\"layers\">\n<h2>Layers</h2>\n";
  if (report.layers.empty()) {
    html += "<p>No layers.</p>\n</section>\n";
    return;
  }
  html += "<table>\n<thead><tr><th>Layer</th><th>Sources</th><th>Op</th>"
          "<th>Format</th><th>Granularity</th><th>Algorithm</th>"
          "<th>Activations</th><th>Bits/weight</th><th>Weights</th>"
          "<th>FP32 bytes</th><th>Bytes</th><th>SQNR</th><th>MSE</th>"
          "</tr></thead>\n<tbody>\n";
  for (const LayerReport &layer : report.layers) {
    std::string sources;
    for (const std::string &source : layer.sources)
      sources += (sources.empty() ? "" : "<br>") + escapeHtml(source);
    html +=
        "<tr><td>" + escapeHtml(layer.name) + "</td><td>" + sources +
        "</td><td>" + escapeHtml(layer.op) +
        "</td><td><span class=\"swatch\" style=\"background:" +
        formatColor(layer.format) + "\"></span>" + escapeHtml(layer.format) +
        "</td><td>" + escapeHtml(layer.granularity) + "</td><td>" +
        escapeHtml(layer.algorithm) + "</td><td>" +
        escapeHtml(layer.activations) + "</td><td class=\"num\">" +
        generalNumber(layer.bits) + "</td><td class=\"num\">" +
        groupedInteger(layer.weightElements) + "</td><td class=\"num\">" +
        groupedInteger(layer.bytesFp32) + "</td><td class=\"num\">" +
        groupedInteger(layer.bytes) + "</td><td class=\"num\">" +
        sqnrText(layer.sqnrDb) + "</td><td class=\"num\">" +
        (layer.mse ? generalNumber(*layer.mse) : "&mdash;") + "</td></tr>\n";
  }
  html += "</tbody>\n</table>\n</section>\n";
}

/// One horizontal bar per layer from the zero line to its SQNR. An exact
/// layer (+inf) fills the axis and says so; an unmeasured one gets an empty
/// bar and a note, so rows stay aligned with the table.
void appendSqnrChart(const Report &report, std::string &html) {
  html += "<section id=\"sqnr\">\n<h2>Per-layer SQNR</h2>\n";
  if (report.layers.empty()) {
    html += "<p>No layers.</p>\n</section>\n";
    return;
  }
  html += "<p class=\"legend\">";
  std::vector<std::string> formats;
  for (const LayerReport &layer : report.layers)
    if (std::find(formats.begin(), formats.end(), layer.format) ==
        formats.end())
      formats.push_back(layer.format);
  for (const std::string &name : formats)
    html += "<span class=\"item\"><span class=\"swatch\" style=\"background:" +
            formatColor(name) + "\"></span>" + escapeHtml(name) + "</span>";
  html += "</p>\n";

  double lo = 0, hi = 0;
  bool anyFinite = false;
  for (const LayerReport &layer : report.layers)
    if (layer.sqnrDb && std::isfinite(*layer.sqnrDb)) {
      lo = std::min(lo, *layer.sqnrDb);
      hi = std::max(hi, *layer.sqnrDb);
      anyFinite = true;
    }
  const Axis axis = Axis::over(lo, anyFinite ? hi : 1, 6);

  constexpr double kLabelWidth = 300, kBarWidth = 480, kValueWidth = 130;
  constexpr double kRow = 22, kTop = 26, kBottom = 40;
  const double width = kLabelWidth + kBarWidth + kValueWidth;
  const double height = kTop + kRow * report.layers.size() + kBottom;
  const double plotBottom = kTop + kRow * report.layers.size();
  auto x = [&](double value) {
    return kLabelWidth + std::clamp(axis.fraction(value), 0.0, 1.0) * kBarWidth;
  };

  html += "<svg id=\"sqnr-chart\" xmlns=\"http://www.w3.org/2000/svg\" "
          "role=\"img\" width=\"" +
          coordinate(width) + "\" height=\"" + coordinate(height) +
          "\" viewBox=\"0 0 " + coordinate(width) + " " + coordinate(height) +
          "\">\n<title>Per-layer SQNR in dB</title>\n";
  for (double tick : axis.ticks()) {
    const std::string at = coordinate(x(tick));
    html += "<line class=\"" + std::string(tick == 0 ? "axis" : "grid") +
            "\" x1=\"" + at + "\" y1=\"" + coordinate(kTop - 4) + "\" x2=\"" +
            at + "\" y2=\"" + coordinate(plotBottom) + "\"/>\n";
    html += "<text class=\"tick\" x=\"" + at + "\" y=\"" +
            coordinate(kTop - 8) + "\" text-anchor=\"middle\">" +
            printNumber("%g", tick) + "</text>\n";
  }
  html += "<text class=\"label\" x=\"" +
          coordinate(kLabelWidth + kBarWidth / 2) + "\" y=\"" +
          coordinate(height - 12) +
          "\" text-anchor=\"middle\">SQNR (dB, higher is better)</text>\n";

  for (size_t i = 0; i < report.layers.size(); ++i) {
    const LayerReport &layer = report.layers[i];
    const double top = kTop + kRow * i;
    const double middle = top + kRow / 2;
    double from = x(0), to = x(0);
    bool exact = false;
    if (layer.sqnrDb && !std::isnan(*layer.sqnrDb)) {
      exact = std::isinf(*layer.sqnrDb);
      to = std::isinf(*layer.sqnrDb)
               ? (*layer.sqnrDb > 0 ? kLabelWidth + kBarWidth : kLabelWidth)
               : x(*layer.sqnrDb);
    }
    if (to < from)
      std::swap(from, to);
    html += "<g>\n<title>" + escapeHtml(layer.name) + ": " +
            sqnrText(layer.sqnrDb) + " (" + escapeHtml(layer.format) +
            ")</title>\n";
    html += "<text class=\"label\" x=\"" + coordinate(kLabelWidth - 8) +
            "\" y=\"" + coordinate(middle + 4) + "\" text-anchor=\"end\">" +
            shortenName(layer.name, 44) + "</text>\n";
    html += "<rect x=\"" + coordinate(from) + "\" y=\"" + coordinate(top + 3) +
            "\" width=\"" + coordinate(to - from) + "\" height=\"" +
            coordinate(kRow - 6) + "\" fill=\"" + formatColor(layer.format) +
            "\"" +
            (exact ? " fill-opacity=\"0.45\" stroke=\"#333\" "
                     "stroke-dasharray=\"4 2\""
                   : "") +
            "/>\n";
    html += "<text class=\"value\" x=\"" + coordinate(to + 5) + "\" y=\"" +
            coordinate(middle + 4) + "\">" + sqnrText(layer.sqnrDb) +
            "</text>\n</g>\n";
  }
  html += "</svg>\n</section>\n";
}

/// The size-error frontier as a step plot (each point is the least error
/// reachable at that size), the chosen point ringed and labelled.
void appendFrontier(const Report &report, std::string &html) {
  std::vector<FrontierPoint> points;
  for (const FrontierPoint &point : report.frontier)
    if (std::isfinite(point.error))
      points.push_back(point);
  std::stable_sort(points.begin(), points.end(),
                   [](const FrontierPoint &a, const FrontierPoint &b) {
                     return a.bytes < b.bytes;
                   });
  html += "<section id=\"frontier\">\n<h2>Size&ndash;error frontier</h2>\n";
  const size_t omitted = report.frontier.size() - points.size();
  if (omitted)
    html += "<p class=\"note\">" + std::to_string(omitted) +
            " point(s) with a non-finite error are not drawn.</p>\n";
  if (points.empty()) {
    html += "</section>\n";
    return;
  }
  double bytesLo = static_cast<double>(points.front().bytes);
  double bytesHi = static_cast<double>(points.back().bytes);
  double errorLo = 0, errorHi = 0;
  for (const FrontierPoint &point : points) {
    errorLo = std::min(errorLo, point.error);
    errorHi = std::max(errorHi, point.error);
  }
  // Ticks fall on round numbers of one binary unit (KiB, MiB, ...), so the
  // labels read "256 KiB" rather than a decimal step shown in KiB.
  static const char *const kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int unit = 0;
  while (unit < 4 && bytesHi / std::pow(1024.0, unit + 1) >= 1)
    ++unit;
  const double unitBytes = std::pow(1024.0, unit);
  const Axis xAxis = Axis::over(bytesLo / unitBytes, bytesHi / unitBytes, 6);
  const Axis yAxis = Axis::over(errorLo, errorHi, 5);

  constexpr double kWidth = 720, kHeight = 400;
  constexpr double kLeft = 90, kRight = 45, kTop = 20, kBottom = 60;
  const double plotWidth = kWidth - kLeft - kRight;
  const double plotHeight = kHeight - kTop - kBottom;
  auto x = [&](double bytes) {
    return kLeft + xAxis.fraction(bytes / unitBytes) * plotWidth;
  };
  auto y = [&](double error) {
    return kTop + (1 - yAxis.fraction(error)) * plotHeight;
  };

  html += "<svg id=\"frontier-chart\" xmlns=\"http://www.w3.org/2000/svg\" "
          "role=\"img\" width=\"" +
          coordinate(kWidth) + "\" height=\"" + coordinate(kHeight) +
          "\" viewBox=\"0 0 " + coordinate(kWidth) + " " + coordinate(kHeight) +
          "\">\n<title>Model size against error for each mixed-precision "
          "assignment on the frontier</title>\n";
  for (double tick : xAxis.ticks()) {
    const std::string at = coordinate(x(tick * unitBytes));
    html += "<line class=\"grid\" x1=\"" + at + "\" y1=\"" + coordinate(kTop) +
            "\" x2=\"" + at + "\" y2=\"" + coordinate(kTop + plotHeight) +
            "\"/>\n<text class=\"tick\" x=\"" + at + "\" y=\"" +
            coordinate(kTop + plotHeight + 16) + "\" text-anchor=\"middle\">" +
            printNumber("%g", tick) + " " + kUnits[unit] + "</text>\n";
  }
  for (double tick : yAxis.ticks()) {
    const std::string at = coordinate(y(tick));
    html += "<line class=\"grid\" x1=\"" + coordinate(kLeft) + "\" y1=\"" + at +
            "\" x2=\"" + coordinate(kLeft + plotWidth) + "\" y2=\"" + at +
            "\"/>\n<text class=\"tick\" x=\"" + coordinate(kLeft - 6) +
            "\" y=\"" + coordinate(y(tick) + 4) + "\" text-anchor=\"end\">" +
            printNumber("%g", tick) + "</text>\n";
  }
  html += "<path class=\"axis\" fill=\"none\" d=\"M" + coordinate(kLeft) + " " +
          coordinate(kTop) + "V" + coordinate(kTop + plotHeight) + "H" +
          coordinate(kLeft + plotWidth) + "\"/>\n";
  html += "<text class=\"label\" x=\"" + coordinate(kLeft + plotWidth / 2) +
          "\" y=\"" + coordinate(kHeight - 14) +
          "\" text-anchor=\"middle\">model size (bytes of weights)</text>\n";
  html +=
      "<text class=\"label\" text-anchor=\"middle\" transform=\"translate(" +
      coordinate(22) + " " + coordinate(kTop + plotHeight / 2) +
      ") rotate(-90)\">error (lower is better)</text>\n";

  std::string steps = "M" +
                      coordinate(x(static_cast<double>(points[0].bytes))) +
                      " " + coordinate(y(points[0].error));
  for (size_t i = 1; i < points.size(); ++i)
    steps += "H" + coordinate(x(static_cast<double>(points[i].bytes))) + "V" +
             coordinate(y(points[i].error));
  html += "<path fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"1.5\" d=\"" +
          steps + "\"/>\n";
  for (const FrontierPoint &point : points) {
    const std::string cx = coordinate(x(static_cast<double>(point.bytes)));
    const std::string cy = coordinate(y(point.error));
    const std::string text = humanBytes(static_cast<double>(point.bytes)) +
                             ", error " + generalNumber(point.error);
    if (point.chosen) {
      // Labels of points in the right half grow leftwards to stay inside.
      const bool labelLeft =
          x(static_cast<double>(point.bytes)) > kLeft + plotWidth / 2;
      html += "<g>\n<title>chosen: " + text + "</title>\n<circle cx=\"" + cx +
              "\" cy=\"" + cy +
              "\" r=\"7\" fill=\"#d62728\" stroke=\"#000\" "
              "stroke-width=\"1.5\"/>\n<text class=\"label\" x=\"" +
              coordinate(x(static_cast<double>(point.bytes)) +
                         (labelLeft ? -10 : 10)) +
              "\" y=\"" + coordinate(y(point.error) - 10) +
              "\" text-anchor=\"" + (labelLeft ? "end" : "start") +
              "\" font-weight=\"bold\">chosen: " + text + "</text>\n</g>\n";
    } else {
      html += "<circle cx=\"" + cx + "\" cy=\"" + cy +
              "\" r=\"3.5\" fill=\"#1f77b4\"><title>" + text +
              "</title></circle>\n";
    }
  }
  html += "</svg>\n</section>\n";
}

} // namespace

std::string reportToJson(const Report &report) {
  JsonWriter json;
  json.beginObject();
  json.member("model", jsonString(report.model));
  json.member("scheme", jsonString(report.scheme));
  json.member("method", jsonString(report.method));
  json.member("calibration", jsonString(report.calibration));
  json.member("bytes_fp32", jsonInteger(report.bytesFp32));
  json.member("bytes_quantized", jsonInteger(report.bytesQuantized));
  json.member("compression",
              report.bytesQuantized > 0
                  ? jsonNumber(static_cast<double>(report.bytesFp32) /
                               static_cast<double>(report.bytesQuantized))
                  : "null");
  json.key("metrics");
  json.beginArray();
  for (const ModelMetric &metric : report.metrics) {
    json.beginObject();
    json.member("name", jsonString(metric.name));
    json.member("value", jsonNumber(metric.value));
    json.endObject();
  }
  json.endArray();
  json.key("layers");
  json.beginArray();
  for (const LayerReport &layer : report.layers) {
    json.beginObject();
    json.member("name", jsonString(layer.name));
    json.key("sources");
    json.beginArray();
    for (const std::string &source : layer.sources)
      json.raw(jsonString(source));
    json.endArray();
    json.member("op", jsonString(layer.op));
    json.member("format", jsonString(layer.format));
    json.member("granularity", jsonString(layer.granularity));
    json.member("algorithm", jsonString(layer.algorithm));
    json.member("activations", jsonString(layer.activations));
    json.member("bits", jsonNumber(layer.bits));
    json.member("weight_elements", jsonInteger(layer.weightElements));
    json.member("bytes_fp32", jsonInteger(layer.bytesFp32));
    json.member("bytes", jsonInteger(layer.bytes));
    json.member("sqnr_db", jsonNumber(layer.sqnrDb));
    json.member("mse", jsonNumber(layer.mse));
    json.member("weight_output_error", jsonNumber(layer.weightOutputError));
    json.member("rtn_weight_output_error",
                jsonNumber(layer.rtnWeightOutputError));
    json.endObject();
  }
  json.endArray();
  json.key("frontier");
  json.beginArray();
  for (const FrontierPoint &point : report.frontier) {
    json.beginObject();
    json.member("bytes", jsonInteger(point.bytes));
    json.member("error", jsonNumber(point.error));
    json.member("chosen", point.chosen ? "true" : "false");
    json.endObject();
  }
  json.endArray();
  json.endObject();
  return json.take();
}

std::string reportToHtml(const Report &report) {
  std::string html = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
                     "<meta charset=\"utf-8\">\n"
                     "<meta name=\"viewport\" content=\"width=device-width, "
                     "initial-scale=1\">\n<title>qcc quantization report: " +
                     escapeHtml(report.model) + "</title>\n<style>\n" + kStyle +
                     "</style>\n</head>\n<body>\n";
  html += "<h1>Quantization report: " + escapeHtml(report.model) + "</h1>\n";
  appendSummary(report, html);
  appendLayerTable(report, html);
  appendSqnrChart(report, html);
  if (!report.frontier.empty())
    appendFrontier(report, html);
  html += "<p class=\"note\">Written by qcc.</p>\n</body>\n</html>\n";
  return html;
}

} // namespace qcc::compiler
