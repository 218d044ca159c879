//! Uncompressed DNG reader (strips and tiles). (stub, being written)
