// Gatehouse console: the one script. Every page works without it; it
// only shows times in the browser's time zone and keeps the sessions
// table up to date. It is loaded from the console itself, never inline.
(function () {
  "use strict";

  // Times are written by the server as <time datetime="RFC 3339">UTC
  // text</time>; show them in the browser's time zone instead, keeping
  // the UTC text as the title.
  function localTimes(root) {
    var ts = root.querySelectorAll("time[datetime]");
    for (var i = 0; i < ts.length; i++) {
      var t = ts[i];
      if (t.hasAttribute("data-local")) {
        continue;
      }
      var d = new Date(t.getAttribute("datetime"));
      if (isNaN(d.getTime())) {
        continue;
      }
      t.title = t.textContent;
      t.textContent = d.toLocaleString();
      t.setAttribute("data-local", "");
    }
  }

  // rowKey names a row of the sessions table.
  function rowKey(tr) {
    return tr.getAttribute("data-session-id") || "#" + tr.className;
  }

  // update makes body's rows those of html (a fragment of <tr>s),
  // changing only the cells that differ, so that the keyboard focus and
  // the scroll position stay where they are.
  function update(body, html) {
    var tpl = document.createElement("template");
    tpl.innerHTML = html;
    localTimes(tpl.content);
    var fresh = tpl.content.querySelectorAll("tr");
    var old = {};
    for (var i = 0; i < body.rows.length; i++) {
      old[rowKey(body.rows[i])] = body.rows[i];
    }
    var keep = [];
    for (var j = 0; j < fresh.length; j++) {
      var nr = fresh[j];
      var or = old[rowKey(nr)];
      var row = nr;
      if (or && or.cells.length === nr.cells.length) {
        for (var k = 0; k < nr.cells.length; k++) {
          if (or.cells[k].innerHTML !== nr.cells[k].innerHTML) {
            or.replaceChild(nr.cells[k].cloneNode(true), or.cells[k]);
          }
        }
        row = or;
      }
      keep.push(row);
      if (body.rows[j] !== row) {
        body.insertBefore(row, body.rows[j] || null);
      }
    }
    while (body.rows.length > keep.length) {
      body.removeChild(body.rows[body.rows.length - 1]);
    }
  }

  // liveSessions polls the table's rows every two seconds while the page
  // is visible. A signed-out answer (401) sends the browser to sign in.
  function liveSessions() {
    var table = document.getElementById("sessions-table");
    if (!table || !table.getAttribute("data-live") || !window.fetch) {
      return;
    }
    var url = table.getAttribute("data-live") + window.location.search;
    var body = table.tBodies[0];
    var count = document.getElementById("sessions-count");
    var updated = document.getElementById("sessions-updated");
    var busy = false;
    var last = null;

    function say(text) {
      if (updated) {
        updated.textContent = text;
      }
    }

    function tick() {
      if (busy || document.hidden) {
        return;
      }
      busy = true;
      fetch(url, { credentials: "same-origin", cache: "no-store", headers: { "Accept": "text/html" } })
        .then(function (r) {
          if (r.status === 401) {
            window.location.assign("/ui/signin?next=" + encodeURIComponent(window.location.pathname + window.location.search));
            throw new Error("signed out");
          }
          if (!r.ok) {
            throw new Error("the server answered " + r.status);
          }
          var total = r.headers.get("X-Sessions-Total");
          return r.text().then(function (html) {
            return { html: html, total: total };
          });
        })
        .then(function (res) {
          if (res.html !== last) {
            update(body, res.html);
            last = res.html;
          }
          if (count) {
            var n = body.querySelectorAll("tr[data-session-id]").length;
            var text = n + " of " + (res.total === null ? n : res.total) + " session(s)";
            if (count.textContent !== text) {
              count.textContent = text;
            }
          }
          say("Live: updated " + new Date().toLocaleTimeString() + ".");
        })
        .catch(function (err) {
          say("Live updates stalled (" + err.message + "); retrying.");
        })
        .then(function () {
          busy = false;
        });
    }

    say("Live: updates every 2 seconds.");
    window.setInterval(tick, 2000);
    document.addEventListener("visibilitychange", function () {
      if (!document.hidden) {
        tick();
      }
    });
  }

  function start() {
    localTimes(document);
    liveSessions();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
