// classify.cpp: image inputs and top-k tables.
#include "classify.hpp"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <numeric>
#include <ostream>

#include "io/image.hpp"

namespace cnnkit::host {
using namespace cnnkit::kernel;

std::pair<std::string, host_tensor> image_input(const graph& g, const std::string& image,
                                                std::ostream& log) {
    if (!g.preprocess)
        throw error(cat(g.file,
                        ": the network has no 'preprocess:' block, so --image cannot "
                        "make its input (give --input NAME=FILE.npy, or add preprocess:)"));
    const preprocess_spec& p = *g.preprocess;
    const sdk::shape* shape = nullptr;
    for (int t : g.inputs)
        if (g.tensors[t].name == p.input) shape = &g.tensors[t].shape;
    sdk::expect(shape != nullptr, "preprocess input '", p.input, "' is not an input");
    const rgb_image img = read_image(image);
    log << image << ": " << describe_preprocess(img, p, *shape) << '\n';
    return {p.input, image_to_tensor(img, p, *shape)};
}

void print_top_k(std::ostream& os, const std::map<std::string, host_tensor>& outputs,
                 const std::vector<std::string>& labels, int k) {
    for (const auto& [name, t] : outputs) {
        if (t.shape.type() != sdk::dtype::f32 || t.shape.numel() == 0) continue;
        const std::int64_t classes = t.shape.numel() / t.shape[0];
        std::vector<double> score(t.f32(), t.f32() + classes);
        const double sum = std::accumulate(score.begin(), score.end(), 0.0);
        const bool is_dist =
            std::all_of(score.begin(), score.end(), [](double v) { return v >= 0 && v <= 1; }) &&
            std::fabs(sum - 1) < 1e-3;
        if (!is_dist) {
            const double mx = *std::max_element(score.begin(), score.end());
            double z = 0;
            for (double& v : score) z += (v = std::exp(v - mx));
            for (double& v : score) v /= z;
        }
        if (!labels.empty() && static_cast<std::int64_t>(labels.size()) != classes)
            os << "warning: " << labels.size() << " labels for " << classes << " classes of '"
               << name << "'\n";
        std::vector<std::int64_t> order(static_cast<std::size_t>(classes));
        std::iota(order.begin(), order.end(), 0);
        const auto shown = std::min<std::int64_t>(k, classes);
        std::partial_sort(order.begin(), order.begin() + shown, order.end(),
                          [&](std::int64_t a, std::int64_t b) {
                              return score[a] > score[b] || (score[a] == score[b] && a < b);
                          });
        os << name << ": top " << shown << " of " << classes
           << (is_dist ? "" : " (softmax of the scores)") << '\n'
           << "  rank  class  probability  label\n";
        for (std::int64_t r = 0; r < shown; ++r) {
            const std::int64_t i = order[static_cast<std::size_t>(r)];
            os << std::setw(6) << r + 1 << std::setw(7) << i << std::setw(13) << std::fixed
               << std::setprecision(6) << score[i] << "  "
               << (i < static_cast<std::int64_t>(labels.size()) ? labels[i] : "") << '\n';
        }
        os << std::defaultfloat;
    }
}

}  // namespace cnnkit::host
