//! `sacloud-sim`: serve a simulated SAKURA Cloud IaaS API on loopback.
fn main() {
    println!("sacloud-sim: not yet available");
}
