mod diag;
mod load;
mod model;
mod source;

fn main() {}
