// input_ref.hpp: naming a layer's inputs in a shape rule's error message.
#pragma once

#include <cnnkit/tensor.hpp>

#include <cstddef>
#include <ostream>

namespace cnnkit::sdk {

// Input `index` of a layer, with its shape, for a shape rule's error message. It prints as
// "input #1 {1, 4, 30, 30}"; the kernel shows "input #1" as the name the network gives that
// tensor ("'c2' {1, 4, 30, 30}"), calls the error a shape mismatch, and points at that input.
struct input_ref {
    std::size_t index;
    sdk::shape shape;
    friend std::ostream& operator<<(std::ostream& os, const input_ref& r) {
        return os << "input #" << r.index << ' ' << r.shape;
    }
};

}  // namespace cnnkit::sdk
