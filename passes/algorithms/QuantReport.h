// The quantization report: what qcc did to each layer and what it cost,
// as JSON for tools and as one static HTML page (inline SVG charts, no
// scripts from elsewhere, no server) for people. Plain C++. The structures
// are the compiler API's (qcc/report.hpp).
#ifndef QCC_PASSES_ALGORITHMS_QUANTREPORT_H
#define QCC_PASSES_ALGORITHMS_QUANTREPORT_H

#include "qcc/report.hpp"

namespace qcc::qg {

using compiler::FrontierPoint;
using compiler::LayerReport;
using compiler::ModelMetric;
using QuantReport = compiler::Report;

/// JSON and HTML (see qcc/report.hpp).
using compiler::reportToHtml;
using compiler::reportToJson;

} // namespace qcc::qg

#endif // QCC_PASSES_ALGORITHMS_QUANTREPORT_H
