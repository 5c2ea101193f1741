"""The CUDA backend on a real model without a GPU: the quantized IR is
compiled by NVRTC to PTX for sm_80 and sm_90 (qcc compile --target=cuda
--emit=ptx) and each PTX must be accepted by ptxas."""
import os
import subprocess


def check_cuda_ptx(qcc, ptxas, mlir, tmp, label):
    for arch in ("sm_80", "sm_90"):
        ptx = os.path.join(tmp, f"{label}.{arch}.ptx")
        subprocess.run([qcc, "compile", mlir, "--target=cuda", f"--cuda-arch={arch}",
                        "--emit=ptx", "-o", ptx], check=True, stdout=subprocess.DEVNULL)
        subprocess.run([ptxas, f"-arch={arch}", ptx, "-o", ptx + ".cubin"], check=True)
    print(f"  {label}: CUDA kernels compiled to PTX and accepted by ptxas "
          "for sm_80 and sm_90", flush=True)
