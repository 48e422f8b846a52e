//! The runtime: values, the heap and its garbage collector, the interpreter
//! and the builtins.
