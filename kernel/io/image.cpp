// image.cpp: stb_image decoding, bilinear resizing, centre cropping and normalisation.
#include "io/image.hpp"

#include <stb_image.h>

#include <algorithm>
#include <cmath>
#include <cnnkit/error.hpp>
#include <memory>

namespace cnnkit::kernel {
namespace {

// The size after `resize:` (the original when there is none).
std::pair<std::int64_t, std::int64_t> resized_size(const rgb_image& img, const preprocess_spec& p) {
    if (p.resize_h) return {p.resize_h, p.resize_w};
    if (!p.resize_short) return {img.height, img.width};
    // torchvision's Resize(int): the shorter side becomes N, the longer one N * long / short
    // rounded down.
    if (img.height <= img.width) return {p.resize_short, p.resize_short * img.width / img.height};
    return {p.resize_short * img.height / img.width, p.resize_short};
}

// Source coordinate of output pixel `o` with half-pixel centres, and its two taps and weight.
struct tap {
    std::int64_t i0, i1;
    float f;
};
std::vector<tap> taps(std::int64_t in, std::int64_t out) {
    std::vector<tap> t(static_cast<std::size_t>(out));
    const double ratio = static_cast<double>(in) / static_cast<double>(out);
    for (std::int64_t o = 0; o < out; ++o) {
        const double src = std::clamp((o + 0.5) * ratio - 0.5, 0.0, static_cast<double>(in - 1));
        const auto i0 = static_cast<std::int64_t>(std::floor(src));
        t[o] = {i0, std::min(i0 + 1, in - 1), static_cast<float>(src - i0)};
    }
    return t;
}

}  // namespace

rgb_image read_image(const std::filesystem::path& file) {
    int w = 0, h = 0, n = 0;
    std::unique_ptr<stbi_uc, void (*)(void*)> data(stbi_load(file.c_str(), &w, &h, &n, 3),
                                                   &stbi_image_free);
    if (!data) throw error(cat(file.string(), ": cannot read image (", stbi_failure_reason(), ")"));
    rgb_image img;
    img.width = w;
    img.height = h;
    img.pixels.assign(data.get(), data.get() + static_cast<std::size_t>(w) * h * 3);
    return img;
}

host_tensor image_to_tensor(const rgb_image& img, const preprocess_spec& p,
                            const sdk::shape& input) {
    const std::int64_t n = input[0], c = input[1], oh = input[2], ow = input[3];
    const auto [rh, rw] = resized_size(img, p);
    if (rh < oh || rw < ow)
        throw error(cat("image ", img.width, "x", img.height, " resized to ", rw, "x", rh,
                        " is smaller than the input's ", ow, "x", oh, " (add preprocess resize)"));
    // torchvision's CenterCrop: int(round(d / 2)), ties to even (nearbyint's default mode).
    const auto top = static_cast<std::int64_t>(std::nearbyint((rh - oh) / 2.0));
    const auto left = static_cast<std::int64_t>(std::nearbyint((rw - ow) / 2.0));
    const auto ty = taps(img.height, rh), tx = taps(img.width, rw);
    host_tensor t;
    t.shape = input;
    t.bytes.resize(static_cast<std::size_t>(input.numel()) * sizeof(float));
    float* out = t.f32();
    auto px = [&](std::int64_t y, std::int64_t x, int ch) {
        return static_cast<float>(
            img.pixels[static_cast<std::size_t>((y * img.width + x) * 3 + ch)]);
    };
    const std::int64_t plane = oh * ow;
    for (std::int64_t y = 0; y < oh; ++y) {
        const tap& a = ty[static_cast<std::size_t>(y + top)];
        for (std::int64_t x = 0; x < ow; ++x) {
            const tap& b = tx[static_cast<std::size_t>(x + left)];
            float rgb[3];
            for (int ch = 0; ch < 3; ++ch) {
                const float r0 = px(a.i0, b.i0, ch) * (1 - b.f) + px(a.i0, b.i1, ch) * b.f;
                const float r1 = px(a.i1, b.i0, ch) * (1 - b.f) + px(a.i1, b.i1, ch) * b.f;
                rgb[ch] = r0 * (1 - a.f) + r1 * a.f;
            }
            for (std::int64_t k = 0; k < c; ++k) {
                const int src = c == 1 ? 0 : static_cast<int>(p.bgr ? 2 - k : k);
                const float v =
                    c == 1 ? 0.299f * rgb[0] + 0.587f * rgb[1] + 0.114f * rgb[2] : rgb[src];
                out[k * plane + y * ow + x] =
                    static_cast<float>((v * p.scale - p.mean[static_cast<std::size_t>(src)]) /
                                       p.std[static_cast<std::size_t>(src)]);
            }
        }
    }
    for (std::int64_t b = 1; b < n; ++b) std::copy(out, out + c * plane, out + b * c * plane);
    return t;
}

std::string describe_preprocess(const rgb_image& img, const preprocess_spec& p,
                                const sdk::shape& input) {
    const auto [rh, rw] = resized_size(img, p);
    std::string s = cat(img.width, "x", img.height);
    if (rh != img.height || rw != img.width) s += cat(" -> resize ", rw, "x", rh);
    if (rh != input[2] || rw != input[3]) s += cat(" -> crop ", input[3], "x", input[2]);
    s += cat(", scale ", p.scale, ", mean [", p.mean[0], ", ", p.mean[1], ", ", p.mean[2],
             "], std [", p.std[0], ", ", p.std[1], ", ", p.std[2], "], ",
             input[1] == 1 ? "luma"
             : p.bgr       ? "bgr"
                           : "rgb");
    return s;
}

}  // namespace cnnkit::kernel
