// The layout shows the architecture. docs/architecture.md holds the module
// graph in a fenced block whose info string is `modules`:
//
//   appliance/storage: appliance/core
//
// means "appliance/storage may include from appliance/core". A module is a
// directory; a file belongs to the longest module that is a prefix of its
// path. A module may include its own files and those of every module it
// reaches through the graph (the transitive closure of its lines).
//
// These tests read every `#include` of every .h and .cpp under appliance/,
// audit/ and governance/ and fail, naming file, line and include, when one
// crosses the graph, names a file that does not exist (includes are written
// from the source root), or when a module directory is missing from the
// graph. The graph itself must have no cycles, and audit/verify must depend
// on nothing of the project but itself.
//
// They read text only and link no module, so they run even when the tree
// does not build.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace cloister {
namespace {

namespace fs = std::filesystem;

// The folders whose sources the graph governs.
const std::vector<std::string> kRoots = {"appliance", "audit", "governance"};

// Each module and the modules its line lists (its direct dependencies).
using ModuleGraph = std::map<std::string, std::vector<std::string>>;

struct SourceFile {
  std::string path;  // from the source root: "audit/audit_ledger.h"
  std::string text;
};

std::string Trim(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r") - b + 1);
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// The graph in the first ```modules block of `markdown`. Lines are
// "module: dependency dependency ..."; blank lines and lines starting with
// '#' are skipped. What is wrong with the block goes to `problems`.
ModuleGraph ParseGraph(const std::string& markdown, std::vector<std::string>& problems) {
  ModuleGraph graph;
  const std::vector<std::string> lines = Lines(markdown);
  size_t i = 0;
  while (i < lines.size() && Trim(lines[i]) != "```modules") ++i;
  if (i == lines.size()) {
    problems.push_back("no ```modules block");
    return graph;
  }
  for (++i; i < lines.size() && Trim(lines[i]).rfind("```", 0) != 0; ++i) {
    const std::string line = Trim(lines[i]);
    if (line.empty() || line[0] == '#') continue;
    const size_t colon = line.find(':');
    if (colon == std::string::npos) {
      problems.push_back("graph line without ':': " + line);
      continue;
    }
    const std::string module = Trim(line.substr(0, colon));
    if (graph.count(module)) problems.push_back("module listed twice: " + module);
    std::vector<std::string>& deps = graph[module];
    std::istringstream words(line.substr(colon + 1));
    for (std::string dep; words >> dep;) deps.push_back(dep);
  }
  for (const auto& [module, deps] : graph) {
    for (const std::string& dep : deps) {
      if (!graph.count(dep))
        problems.push_back(module + " lists " + dep + ", which is not a module of the graph");
    }
  }
  return graph;
}

// A cycle of the graph as "a -> b -> a", or "" when there is none.
std::string FindCycle(const ModuleGraph& graph) {
  std::map<std::string, int> state;  // 0 unvisited, 1 on the path, 2 done
  std::vector<std::string> path;
  std::string cycle;
  std::function<bool(const std::string&)> visit = [&](const std::string& m) {
    state[m] = 1;
    path.push_back(m);
    const auto it = graph.find(m);
    for (const std::string& dep : it == graph.end() ? std::vector<std::string>{} : it->second) {
      if (state[dep] == 1) {
        for (auto p = std::find(path.begin(), path.end(), dep); p != path.end(); ++p)
          cycle += *p + " -> ";
        cycle += dep;
        return true;
      }
      if (state[dep] == 0 && visit(dep)) return true;
    }
    path.pop_back();
    state[m] = 2;
    return false;
  };
  for (const auto& entry : graph) {
    if (state[entry.first] == 0 && visit(entry.first)) return cycle;
  }
  return "";
}

// Every module `module` reaches through the graph, itself included.
std::set<std::string> Reachable(const ModuleGraph& graph, const std::string& module) {
  std::set<std::string> seen;
  std::vector<std::string> todo = {module};
  while (!todo.empty()) {
    const std::string m = todo.back();
    todo.pop_back();
    if (!seen.insert(m).second) continue;
    const auto it = graph.find(m);
    if (it != graph.end()) todo.insert(todo.end(), it->second.begin(), it->second.end());
  }
  return seen;
}

// The module a path belongs to: the longest module that is a directory
// prefix of it, or "" for none.
std::string ModuleOf(const ModuleGraph& graph, const std::string& path) {
  std::string best;
  for (const auto& entry : graph) {
    const std::string& m = entry.first;
    if (path.rfind(m + "/", 0) == 0 && m.size() > best.size()) best = m;
  }
  return best;
}

// The path of an `#include "path"` line, or of an `#include <path>` that
// names a file under one of kRoots; "" for any other line.
std::string IncludedPath(const std::string& raw) {
  std::string line = Trim(raw);
  if (line.empty() || line[0] != '#') return "";
  line = Trim(line.substr(1));
  if (line.rfind("include", 0) != 0) return "";
  line = Trim(line.substr(7));
  if (line.empty() || (line[0] != '"' && line[0] != '<')) return "";
  const size_t end = line.find(line[0] == '"' ? '"' : '>', 1);
  if (end == std::string::npos) return "";
  const std::string path = line.substr(1, end - 1);
  if (line[0] == '"') return path;
  for (const std::string& root : kRoots) {
    if (path.rfind(root + "/", 0) == 0) return path;
  }
  return "";
}

// Every include of `files` that breaks the graph, as "file:line: ...".
// `exists` says whether a path (from the source root) is a file.
std::vector<std::string> CheckIncludes(const ModuleGraph& graph,
                                       const std::vector<SourceFile>& files,
                                       const std::function<bool(const std::string&)>& exists) {
  std::vector<std::string> violations;
  std::map<std::string, std::set<std::string>> allowed;
  for (const auto& entry : graph) allowed[entry.first] = Reachable(graph, entry.first);
  for (const SourceFile& file : files) {
    const std::string own = ModuleOf(graph, file.path);
    if (own.empty()) {
      violations.push_back(file.path + ": in no module of the graph");
      continue;
    }
    const std::vector<std::string> lines = Lines(file.text);
    for (size_t n = 0; n < lines.size(); ++n) {
      const std::string inc = IncludedPath(lines[n]);
      if (inc.empty()) continue;
      const std::string where =
          file.path + ":" + std::to_string(n + 1) + ": includes \"" + inc + "\"";
      if (!exists(inc)) {
        violations.push_back(where +
                             ", which does not exist (includes are written from the source root)");
        continue;
      }
      const std::string target = ModuleOf(graph, inc);
      if (target.empty()) {
        violations.push_back(where + ", which is in no module of the graph");
      } else if (!allowed[own].count(target)) {
        violations.push_back(where + ": " + own + " may not depend on " + target);
      }
    }
  }
  return violations;
}

// Every directory directly under a root that the graph does not list, and
// every module the graph lists that is not a directory.
std::vector<std::string> CheckModuleDirectories(
    const ModuleGraph& graph, const std::vector<std::string>& dirs,
    const std::function<bool(const std::string&)>& is_dir) {
  std::vector<std::string> problems;
  for (const std::string& dir : dirs) {
    if (!graph.count(dir)) problems.push_back(dir + "/ is not a module of the graph");
  }
  for (const auto& entry : graph) {
    if (!is_dir(entry.first))
      problems.push_back("the graph lists " + entry.first + ", which is not a directory");
  }
  return problems;
}

std::string Join(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& line : lines) out += "\n  " + line;
  return out;
}

std::string Slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

class ArchitectureTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string doc = Slurp(root_ / "docs/architecture.md");
    ASSERT_FALSE(doc.empty()) << "docs/architecture.md";
    std::vector<std::string> problems;
    graph_ = ParseGraph(doc, problems);
    ASSERT_TRUE(problems.empty()) << "docs/architecture.md:" << Join(problems);
  }

  // Every .h and .cpp under the roots, with its text.
  std::vector<SourceFile> Sources() const {
    std::vector<SourceFile> files;
    for (const std::string& r : kRoots) {
      for (const auto& entry : fs::recursive_directory_iterator(root_ / r)) {
        const std::string ext = entry.path().extension().string();
        if (!entry.is_regular_file() || (ext != ".h" && ext != ".cpp")) continue;
        files.push_back({fs::relative(entry.path(), root_).generic_string(), Slurp(entry.path())});
      }
    }
    return files;
  }

  bool IsFile(const std::string& path) const { return fs::is_regular_file(root_ / path); }

  const fs::path root_ = CLOISTER_SOURCE_DIR;
  ModuleGraph graph_;
};

TEST_F(ArchitectureTest, IncludesFollowTheModuleGraph) {
  const std::vector<SourceFile> files = Sources();
  ASSERT_GT(files.size(), 100u) << "sources found under " << root_;
  const auto violations =
      CheckIncludes(graph_, files, [&](const std::string& p) { return IsFile(p); });
  EXPECT_TRUE(violations.empty()) << "includes against the graph of docs/architecture.md:"
                                  << Join(violations);
}

TEST_F(ArchitectureTest, EveryModuleDirectoryIsInTheGraph) {
  std::vector<std::string> dirs;
  for (const std::string& r : kRoots) {
    for (const auto& entry : fs::directory_iterator(root_ / r)) {
      if (entry.is_directory()) dirs.push_back(r + "/" + entry.path().filename().string());
    }
  }
  const auto problems = CheckModuleDirectories(
      graph_, dirs, [&](const std::string& p) { return fs::is_directory(root_ / p); });
  EXPECT_TRUE(problems.empty()) << "docs/architecture.md:" << Join(problems);
}

TEST_F(ArchitectureTest, ModuleGraphHasNoCycles) { EXPECT_EQ(FindCycle(graph_), ""); }

TEST_F(ArchitectureTest, VerifierDependsOnNothingButItself) {
  ASSERT_TRUE(graph_.count("audit/verify"));
  EXPECT_EQ(Reachable(graph_, "audit/verify"), std::set<std::string>{"audit/verify"});
}

// The checker itself, on an in-memory tree, so that it is seen failing.
const char kSmallDoc[] =
    "Text.\n"
    "```modules\n"
    "# module: what it may include from\n"
    "core:\n"
    "storage: core\n"
    "audit: storage\n"
    "audit/verify:\n"
    "```\n";

TEST(ArchitectureCheckerTest, ReportsAnIncludeAgainstTheGraph) {
  std::vector<std::string> problems;
  const ModuleGraph graph = ParseGraph(kSmallDoc, problems);
  ASSERT_TRUE(problems.empty()) << Join(problems);
  const std::set<std::string> present = {"core/a.h", "storage/s.h", "audit/l.h",
                                         "audit/verify/v.h"};
  const std::vector<SourceFile> files = {
      {"audit/l.cpp", "#include \"audit/l.h\"\n#include \"storage/s.h\"\n#include \"core/a.h\"\n"},
      {"core/a.cpp", "// fine\n#include <vector>\n#include \"core/a.h\"\n"},
      {"storage/s.cpp", "#include \"core/a.h\"\n\n  #  include \"audit/l.h\"  // upward\n"},
      {"audit/verify/v.cpp", "#include <audit/l.h>\n"},
      {"audit/x.cpp", "#include \"audit/missing.h\"\n"},
      {"other/o.cpp", "\n"},
  };
  const auto violations =
      CheckIncludes(graph, files, [&](const std::string& p) { return present.count(p) > 0; });
  EXPECT_EQ(
      violations,
      (std::vector<std::string>{
          "storage/s.cpp:3: includes \"audit/l.h\": storage may not depend on audit",
          "audit/verify/v.cpp:1: includes \"audit/l.h\": audit/verify may not depend on audit",
          "audit/x.cpp:1: includes \"audit/missing.h\", which does not exist (includes are "
          "written from the source root)",
          "other/o.cpp: in no module of the graph",
      }));
}

TEST(ArchitectureCheckerTest, ReportsAnUnlistedDirectoryAndAListedAbsentOne) {
  std::vector<std::string> problems;
  const ModuleGraph graph = ParseGraph(kSmallDoc, problems);
  const std::set<std::string> dirs = {"core", "storage", "audit", "runtime"};
  const auto found =
      CheckModuleDirectories(graph, {"core", "storage", "runtime"},
                             [&](const std::string& p) { return dirs.count(p) > 0; });
  EXPECT_EQ(found,
            (std::vector<std::string>{"runtime/ is not a module of the graph",
                                      "the graph lists audit/verify, which is not a directory"}));
}

TEST(ArchitectureCheckerTest, FindsACycle) {
  std::vector<std::string> problems;
  const ModuleGraph graph = ParseGraph("```modules\na: b\nb: c\nc: a\nd:\n```\n", problems);
  ASSERT_TRUE(problems.empty()) << Join(problems);
  EXPECT_EQ(FindCycle(graph), "a -> b -> c -> a");
  EXPECT_EQ(FindCycle(ParseGraph("```modules\na: b\nb:\n```\n", problems)), "");
}

TEST(ArchitectureCheckerTest, RefusesAMalformedGraph) {
  std::vector<std::string> problems;
  ParseGraph("no block here\n", problems);
  EXPECT_EQ(problems, std::vector<std::string>{"no ```modules block"});
  problems.clear();
  ParseGraph("```modules\na: b\na:\nc\n```\n", problems);
  EXPECT_EQ(problems,
            (std::vector<std::string>{"module listed twice: a", "graph line without ':': c",
                                      "a lists b, which is not a module of the graph"}));
}

}  // namespace
}  // namespace cloister
