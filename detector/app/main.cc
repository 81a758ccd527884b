#include "detector/app/cli.h"

int main(int argc, char** argv) { return tw::detector::RunCli(argc, argv); }
