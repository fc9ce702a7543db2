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
  // A pale box behind every name (plotly has no label background), so that the links entering a node never
  // strike through its name; set again after every redraw. Only boxes are added: the names stay plotly's.
  var svgNS = "http://www.w3.org/2000/svg";
  function labelBackgrounds() {
    target.querySelectorAll("text.node-label").forEach(function (text) {
      var box = text.getBBox();
      var rect = text.previousElementSibling;
      if (!rect || rect.getAttribute("class") !== "gf-label-bg") {
        rect = document.createElementNS(svgNS, "rect");
        rect.setAttribute("class", "gf-label-bg");
        text.parentNode.insertBefore(rect, text);
      }
      rect.setAttribute("x", box.x - 3);
      rect.setAttribute("y", box.y - 1);
      rect.setAttribute("width", box.width + 6);
      rect.setAttribute("height", box.height + 2);
      rect.setAttribute("rx", 2);
      var transform = text.getAttribute("transform");
      if (transform) rect.setAttribute("transform", transform); else rect.removeAttribute("transform");
    });
  }
  Plotly.newPlot(target, data.figure.data, data.figure.layout, config).then(function () {
    labelBackgrounds();
    target.on("plotly_afterplot", labelBackgrounds);
    window.graphflowsReadyAt = performance.now();
    window.graphflowsReady = true;
    document.body.setAttribute("data-ready", "1");
  });
})();
