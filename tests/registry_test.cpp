// registry_test.cpp: plugin loading: ABI refusal before any plugin code runs, missing entry,
// duplicate types, throwing plugins, unknown types.
#include "testing.hpp"

#include "graph/yaml_loader.hpp"

#include <catch2/catch.hpp>

#include <fstream>
#include <filesystem>

using namespace cnnkit;
using namespace cnnkit::kernel;

namespace {
std::string test_plugin(const std::string& name) {
    return std::string(CNNKIT_BINARY_DIR) + "/test-plugins/" + name + "/libcnnkit_" + name + ".so";
}
}  // namespace

TEST_CASE("registry: a plugin with ABI 99 is refused naming the file and both versions, "
          "and its code never runs", "[registry]") {
    const std::string marker = testing::temp_dir("abi") + "/constructor-ran";
    std::filesystem::remove(marker);
    registry reg;
    const std::string file = test_plugin("bad_abi");
    {
        const testing::scoped_env env("CNNKIT_TEST_MARKER", marker.c_str());
        REQUIRE_THROWS_WITH(reg.load_file(file),
                            file + ": plugin ABI version 99, host ABI version 1; rebuild the "
                                   "plugin against this SDK");
    }
    CHECK_FALSE(std::filesystem::exists(marker));
    CHECK(reg.types().empty());
}

TEST_CASE("registry: a plugin without an entry point is refused", "[registry]") {
    registry reg;
    const std::string file = test_plugin("no_entry");
    REQUIRE_THROWS_WITH(reg.load_file(file),
                        file + ": missing entry symbol 'cnnkit_plugin_entry'");
}

TEST_CASE("registry: a missing file and a non-library are distinct errors", "[registry]") {
    registry reg;
    REQUIRE_THROWS_WITH(reg.load_file("/nonexistent/libcnnkit_x.so"),
                        "/nonexistent/libcnnkit_x.so: plugin file not found");
    const std::string junk = testing::temp_dir("junk") + "/libcnnkit_junk.so";
    { std::ofstream(junk) << "not an ELF file"; }
    REQUIRE_THROWS_WITH(reg.load_file(junk), Catch::StartsWith(junk + ": not a loadable plugin"));
}

TEST_CASE("registry: a duplicate layer type is refused naming both files, and the first stays",
          "[registry]") {
    registry reg;
    reg.load_dir(CNNKIT_PLUGIN_DIR);
    const layer_type* before = reg.find("relu");
    REQUIRE(before != nullptr);
    reg.load_file(test_plugin("dup_relu"));
    REQUIRE(reg.problems().size() == 1);
    CHECK(reg.problems()[0] == "layer type 'relu' from " + test_plugin("dup_relu") +
                                   " is already provided by " + before->plugin_path +
                                   "; keeping the first");
    CHECK(reg.find("relu") == before);
}

TEST_CASE("registry: a bad plugin in a folder does not stop the others", "[registry]") {
    const std::string dir = testing::temp_dir("mixed");
    std::filesystem::copy_file(test_plugin("bad_abi"), dir + "/libcnnkit_bad_abi.so",
                               std::filesystem::copy_options::overwrite_existing);
    std::filesystem::copy_file(test_plugin("throws"), dir + "/libcnnkit_throws.so",
                               std::filesystem::copy_options::overwrite_existing);
    registry reg;
    reg.load_dir(dir);
    CHECK(reg.find("test_throws") != nullptr);
    REQUIRE(reg.problems().size() == 1);
    CHECK_THAT(reg.problems()[0], Catch::Contains("plugin ABI version 99"));
}

TEST_CASE("registry: exceptions thrown by a plugin become errors naming the plugin",
          "[registry]") {
    registry reg;
    reg.load_file(test_plugin("throws"));
    const std::string net = "inputs: {x: [1, 2]}\nnodes:\n  - {name: t, type: test_throws, fail_at: 1}\n";
    try {
        load_yaml_text(reg, net, "t.yaml");
        FAIL("no error");
    } catch (const std::exception& e) {
        CHECK(full_message(e) ==
              "t.yaml:3:5: layer 't' (test_throws): libcnnkit_throws.so: deliberate failure in infer");
    }
    try {  // a plugin that does not name its inputs (sdk::input_ref): the kernel lists them
        load_yaml_text(reg, "inputs: {x: [1, 2], y: [1, 3]}\nnodes:\n"
                            "  - {name: t, type: test_throws, fail_at: 1, inputs: [x, y]}\n", "t.yaml");
        FAIL("no error");
    } catch (const std::exception& e) {
        CHECK(full_message(e) == "t.yaml:3:5: layer 't' (test_throws): libcnnkit_throws.so: "
                                 "deliberate failure in infer (inputs: 'x' {1, 2}, 'y' {1, 3})");
    }
    auto g = load_yaml_text(reg, "inputs: {x: [1, 2]}\nnodes:\n  - {name: t, type: test_throws, fail_at: 2}\n", "t.yaml");
    auto n = network::from_graph(std::move(g), {});
    std::map<std::string, host_tensor> in{{"x", testing::make_tensor({1, 2}, {1, 2})}};
    REQUIRE_THROWS_WITH(n->run(in), "node 't' (test_throws): deliberate failure in run");
}

TEST_CASE("registry: an unknown type lists the known types and the folders searched",
          "[registry]") {
    REQUIRE_THROWS_WITH(testing::plugins().get("rellu"),
                        Catch::StartsWith("unknown layer type 'rellu'; did you mean 'relu'? (known types: ") &&
                            Catch::Contains(std::string("plugin folders searched: ") + CNNKIT_PLUGIN_DIR));
}

TEST_CASE("registry: a plugin whose registration throws or returns nothing is refused, and the "
          "registry stays usable", "[registry]") {
    registry reg;
    const std::string file = test_plugin("entry_throws");
    REQUIRE_THROWS_WITH(reg.load_file(file),
                        file + ": registration failed: deliberate failure in registration");
    {
        const testing::scoped_env env("CNNKIT_TEST_ENTRY_NULL", "1");
        REQUIRE_THROWS_WITH(reg.load_file(file), file + ": entry returned no descriptor");
    }
    CHECK(reg.types().empty());
    reg.load_dir(CNNKIT_PLUGIN_DIR);  // the same registry then loads the good plugins
    CHECK(reg.find("conv") != nullptr);
    CHECK(reg.problems().empty());
    auto n = network::from_graph(
        load_yaml_text(reg, "inputs: {x: [1, 2]}\nnodes:\n  - {name: r, type: relu}\n", "r.yaml"),
        {});
    const auto y = n->run({{"x", testing::make_tensor({1, 2}, {-1, 2})}}).at("out");
    CHECK(y.f32()[0] == 0.0f);
    CHECK(y.f32()[1] == 2.0f);
}
