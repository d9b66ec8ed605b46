//! `lxnest-oci`: lxnest as an OCI runtime with runc's command line (docs/oci.md).

fn main() -> std::process::ExitCode {
    lxnest::oci::cli::main()
}
