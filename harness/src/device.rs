//! `--device`: which burn backend and device the proxies run on.
//!
//! `cpu` is burn's pure-Rust flex backend (the default, always built). With the `tch` cargo
//! feature, `tch-cpu` and `cuda[:N]` run on libtorch (burn-tch 0.22 → libtorch 2.9.0; see
//! README, GPU).

use anyhow::{bail, Result};
use burn::tensor::Device;

/// Parses a `--device` value and opens the device, or says what is missing.
pub fn open(spec: &str) -> Result<(Device, String)> {
    let spec = spec.trim().to_ascii_lowercase();
    match spec.as_str() {
        "cpu" | "flex" => return Ok((Device::flex(), "CPU (burn flex backend)".to_string())),
        _ => {}
    }
    let cuda_index = match spec.as_str() {
        "cuda" => Some(0),
        s if s.starts_with("cuda:") => match s["cuda:".len()..].parse::<usize>() {
            Ok(i) => Some(i),
            Err(_) => bail!("--device `{spec}`: the CUDA index must be a number, e.g. cuda:0"),
        },
        "tch-cpu" | "libtorch" => None,
        _ => bail!("unknown --device `{spec}` (expected cpu, tch-cpu, cuda or cuda:N)"),
    };
    open_libtorch(&spec, cuda_index)
}

#[cfg(feature = "tch")]
#[allow(deprecated)] // burn-tch is deprecated upstream but is the CUDA path that builds offline
fn open_libtorch(spec: &str, cuda_index: Option<usize>) -> Result<(Device, String)> {
    match cuda_index {
        None => Ok((Device::libtorch(), "CPU (libtorch via burn-tch)".to_string())),
        Some(i) => {
            let count = tch::Cuda::device_count();
            if !tch::Cuda::is_available() || count <= 0 {
                bail!(
                    "--device {spec}: libtorch sees no CUDA device (is this a CUDA build of libtorch, \
                     and is the NVIDIA driver loaded?). Use --device tch-cpu or cpu"
                );
            }
            if i as i64 >= count {
                bail!("--device {spec}: there are only {count} CUDA devices (0..{})", count - 1);
            }
            Ok((Device::libtorch_cuda(i), format!("CUDA device {i} (libtorch via burn-tch)")))
        }
    }
}

#[cfg(not(feature = "tch"))]
fn open_libtorch(spec: &str, _cuda_index: Option<usize>) -> Result<(Device, String)> {
    bail!(
        "--device {spec} needs the libtorch backend: build with `cargo run --release --features tch -- …` \
         and LIBTORCH pointing at a libtorch 2.9.0 (see README, GPU)"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_opens_and_bad_specs_explain_themselves() {
        assert!(open("cpu").is_ok());
        let e = open("tpu").unwrap_err().to_string();
        assert!(e.contains("unknown --device `tpu`"), "{e}");
        let e = open("cuda:x").unwrap_err().to_string();
        assert!(e.contains("must be a number"), "{e}");
        #[cfg(not(feature = "tch"))]
        assert!(open("cuda").unwrap_err().to_string().contains("--features tch"));
    }
}
