//! `fake-apiserver`: a test double, not a product feature.
fn main() {
    println!("fake-apiserver: not yet available");
}
