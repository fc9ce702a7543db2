/* graphflows Sankey page. Text from the data goes in with textContent; plotly gets it escaped. */
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("gf-data").textContent);
  function el(tag, text, className) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (className) node.className = className;
    return node;
  }
  document.getElementById("gf-title").textContent = data.title;
  document.getElementById("gf-subtitle").textContent = data.subtitle;
  var key = document.getElementById("gf-key");
  data.key.forEach(function (k) {
    var item = el("span", null, "gf-key-item");
    var swatch = el("i");
    swatch.style.background = k[1];
    item.appendChild(swatch);
    item.appendChild(el("span", k[0]));
    key.appendChild(item);
  });
  var notes = document.getElementById("gf-notes");
  data.notes.forEach(function (t) { notes.appendChild(el("p", t, "gf-note")); });
  var target = document.getElementById("gf-sankey");
  target.style.height = data.height + "px";
  var config = { displaylogo: false, responsive: true, showLink: false, showSendToCloud: false,
    showEditInChartStudio: false, modeBarButtonsToRemove: ["sendDataToCloud", "editInChartStudio"] };
  Plotly.newPlot(target, data.figure.data, data.figure.layout, config).then(function () {
    window.graphflowsReadyAt = performance.now();
    window.graphflowsReady = true;
    document.body.setAttribute("data-ready", "1");
  });
})();
