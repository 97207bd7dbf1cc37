"""Builds runicorn._core by running CMake on the repository root (two levels up), then lets
setuptools package it with the pure-Python files. Metadata lives in pyproject.toml.

Environment: RUNICORN_CMAKE_ARGS adds CMake arguments; RUNICORN_BUILD_JOBS sets the parallel jobs
(default 2).
"""
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]


class CMakeBuild(build_ext):
    def build_extension(self, ext):
        if not (REPO / "CMakeLists.txt").is_file():
            raise RuntimeError(f"runicorn: expected the runtrack CMake project at {REPO}")
        build_dir = Path(self.build_temp).resolve() / "cmake"
        build_dir.mkdir(parents=True, exist_ok=True)
        generator = ["-G", "Ninja"] if shutil.which("ninja") else []
        configure = ["cmake", "-S", str(REPO), "-B", str(build_dir), *generator,
                     "-DCMAKE_BUILD_TYPE=Release", "-DRUNTRACK_BUILD_APPS=OFF",
                     "-DRUNTRACK_BUILD_TESTS=OFF", "-DRUNTRACK_BUILD_PYTHON=ON",
                     f"-DPython3_EXECUTABLE={sys.executable}",
                     *shlex.split(os.environ.get("RUNICORN_CMAKE_ARGS", ""))]
        subprocess.run(configure, check=True)
        jobs = os.environ.get("RUNICORN_BUILD_JOBS", "2")
        subprocess.run(["cmake", "--build", str(build_dir), "--target", "runicorn_core",
                        "-j", jobs], check=True)
        built = list((build_dir / "python" / "runicorn").glob("_core*.so"))
        if not built:
            raise RuntimeError("runicorn: CMake did not produce runicorn/_core*.so (are "
                               "python3-dev and pybind11-dev installed?)")
        target = Path(self.get_ext_fullpath(ext.name))
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(built[0], target)


setup(ext_modules=[Extension("runicorn._core", sources=[])],
      cmdclass={"build_ext": CMakeBuild})
