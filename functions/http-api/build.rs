//! The OpenAPI document is written in YAML (`openapi.yaml`, the one the tests hold the
//! router to) and served as JSON (`GET /v1/openapi.json`): converted once, at build time.

fn main() {
    println!("cargo:rerun-if-changed=openapi.yaml");
    let yaml = std::fs::read_to_string("openapi.yaml").expect("openapi.yaml is readable");
    let doc: serde_json::Value = serde_yaml::from_str(&yaml).expect("openapi.yaml is valid YAML");
    let out = std::path::Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("openapi.json");
    std::fs::write(out, doc.to_string()).expect("OUT_DIR is writable");
}
