//! The runtime: values, the heap and its garbage collector, the interpreter
//! and the builtins. (Placeholder API until the interpreter lands.)

use std::io::Write;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use crate::bytecode::{FunctionProto, GlobalNames};
use crate::diag::RuntimeError;

#[derive(Clone, Debug, Default)]
pub struct VmOptions {
    pub gc_stress: bool,
    pub jit_threshold: Option<u32>,
    pub interrupt: Arc<AtomicBool>,
}

#[derive(Clone, Copy, Debug)]
pub struct Value;

pub struct Vm {
    out: Box<dyn Write>,
}

impl Vm {
    pub fn new(_opts: VmOptions, out: Box<dyn Write>) -> Vm {
        Vm { out }
    }
    pub fn run(
        &mut self,
        _script: Rc<FunctionProto>,
        _globals: &GlobalNames,
    ) -> Result<Value, RuntimeError> {
        Ok(Value)
    }
    pub fn flush(&mut self) {
        let _ = self.out.flush();
    }
    pub fn display(&self, _v: Value) -> String {
        "nil".into()
    }
    pub fn repr(&self, _v: Value) -> String {
        "nil".into()
    }
}
