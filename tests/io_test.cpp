// io_test.cpp: .npy and safetensors round trips and their refusals; weight binding checks.
#include "testing.hpp"

#include "graph/yaml_loader.hpp"

#include <catch2/catch.hpp>

#include <fstream>

using namespace cnnkit;
using namespace cnnkit::kernel;

TEST_CASE("npy: float32 round trip keeps shape and bits", "[io]") {
    const auto t = testing::random_tensor({2, 3, 4}, 1);
    const std::string f = testing::temp_dir("npy") + "/t.npy";
    write_npy(f, t);
    const auto back = read_npy(f);
    CHECK(back.shape == t.shape);
    CHECK(back.bytes == t.bytes);
}

TEST_CASE("npy: truncated data and unsupported dtypes are refused", "[io]") {
    auto bytes = encode_npy(testing::random_tensor({4, 4}, 2));
    bytes.resize(bytes.size() - 4);
    REQUIRE_THROWS_WITH(parse_npy(bytes.data(), bytes.size(), "x.npy"),
                        "x.npy: holds 60 data bytes, shape needs 64");
    const std::string header = "{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }\n";
    std::vector<unsigned char> b = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0,
                                    static_cast<unsigned char>(header.size()), 0};
    b.insert(b.end(), header.begin(), header.end());
    b.resize(b.size() + 8);
    REQUIRE_THROWS_WITH(parse_npy(b.data(), b.size(), "y.npy"),
                        "y.npy: dtype '<i4' is not supported (use float32)");
    REQUIRE_THROWS_WITH(parse_npy(b.data(), 4, "z.npy"), "z.npy: not a .npy file");
}

TEST_CASE("safetensors: weights bind by name and shape, and mismatches name the tensor", "[io]") {
    const graph g0 = load_yaml_text(testing::plugins(),
                                    "inputs: {x: [1, 2, 4, 4]}\nnodes: [{name: c, type: conv, out_channels: 3, kernel: 1}]\n",
                                    "w.yaml");
    const std::string dir = testing::temp_dir("st");
    write_safetensors(dir + "/ok.safetensors",
                      {{"c.weight", testing::random_tensor({3, 2, 1, 1}, 1)},
                       {"c.bias", testing::random_tensor({3}, 2)}});
    CHECK_NOTHROW(bind_weights(g0, safetensors_file::open(dir + "/ok.safetensors"), {}));

    write_safetensors(dir + "/shape.safetensors",
                      {{"c.weight", testing::random_tensor({3, 2, 3, 3}, 1)},
                       {"c.bias", testing::random_tensor({3}, 2)}});
    REQUIRE_THROWS_WITH(bind_weights(g0, safetensors_file::open(dir + "/shape.safetensors"), {}),
                        "w.yaml:2:9: " + dir +
                            "/shape.safetensors: tensor 'c.weight' has shape {3, 2, 3, 3}, the "
                            "network expects {3, 2, 1, 1} (layer 'c' (conv) on 'x' {1, 2, 4, 4})");
    write_safetensors(dir + "/extra.safetensors",
                      {{"c.weight", testing::random_tensor({3, 2, 1, 1}, 1)},
                       {"c.bias", testing::random_tensor({3}, 2)},
                       {"d.bias", testing::random_tensor({3}, 2)}});
    REQUIRE_THROWS_WITH(bind_weights(g0, safetensors_file::open(dir + "/extra.safetensors"), {}),
                        dir + "/extra.safetensors: tensor 'd.bias' is not a weight of this network");
    write_safetensors(dir + "/missing.safetensors", {{"c.weight", testing::random_tensor({3, 2, 1, 1}, 1)}});
    REQUIRE_THROWS_WITH(bind_weights(g0, safetensors_file::open(dir + "/missing.safetensors"), {}),
                        dir + "/missing.safetensors: 1 weight(s) missing: c.bias {3}");
}

TEST_CASE("safetensors: a header that declares more bytes than the file holds is refused",
          "[io]") {
    const std::string f = testing::temp_dir("st") + "/trunc.safetensors";
    write_safetensors(f, {{"a", testing::random_tensor({16}, 1)}});
    std::filesystem::resize_file(f, std::filesystem::file_size(f) - 8);
    REQUIRE_THROWS_WITH(safetensors_file::open(f),
                        f + ": tensor 'a': data_offsets [0, 64] outside the 56 data bytes");
    { std::ofstream(f, std::ios::binary | std::ios::trunc).write("\xff\xff\xff\xff\xff\xff\x00\x00", 8); }
    REQUIRE_THROWS_WITH(safetensors_file::open(f), Catch::Contains("header declares"));
}

TEST_CASE("safetensors: shapes and offsets that are not integers are refused by name", "[io]") {
    const std::string f = testing::temp_dir("st") + "/num.safetensors";
    const auto write = [&](const std::string& header) {
        std::ofstream o(f, std::ios::binary | std::ios::trunc);
        const std::uint64_t n = header.size();
        o.write(reinterpret_cast<const char*>(&n), 8);
        o << header << std::string(48, '\0');
    };
    // A float far outside int64 (fuzz_safetensors found nlohmann's cast of it undefined).
    write(R"({"a": {"dtype": "F32", "shape": [4, 8.88889e+22], "data_offsets": [0, 48]}})");
    REQUIRE_THROWS_WITH(safetensors_file::open(f),
                        f + ": tensor 'a': shape holds 8.88889e+22, not an integer");
    write(R"({"a": {"dtype": "F32", "shape": [4, 3], "data_offsets": [0, 4.8e1]}})");
    REQUIRE_THROWS_WITH(safetensors_file::open(f),
                        f + ": tensor 'a': data_offsets [0,48.0] are not two byte offsets");
    write(R"({"a": {"dtype": "F32", "shape": [4, 3], "data_offsets": [-1, 47]}})");
    REQUIRE_THROWS_WITH(safetensors_file::open(f), Catch::Contains("are not two byte offsets"));
    write(R"({"a": {"dtype": "F32", "shape": [4, 3], "data_offsets": [0, 48]}})");
    REQUIRE(safetensors_file::open(f)->entries().size() == 1);
}

TEST_CASE("weights: random weights are deterministic per seed and name", "[io]") {
    weight_info w{"a.weight", {4, 3, 3, 3}, CNNKIT_INIT_FAN_IN, 0};
    CHECK(random_weight(w, 1) == random_weight(w, 1));
    CHECK(random_weight(w, 1) != random_weight(w, 2));
    const auto v = random_weight(w, 1);
    for (float x : v) CHECK(std::abs(x) <= 1.0f / std::sqrt(27.0f));
}
