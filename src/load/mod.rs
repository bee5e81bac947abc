pub mod de;
pub mod yaml;
